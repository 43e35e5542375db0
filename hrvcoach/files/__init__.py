"""Files in and out: RR recordings (text, CSV, Polar HRM, Kubios), the CSV journal of a live
session, and hrvcoach's session files (rr, csv, json, edf). No SQLite here."""
