"""Files in and out: RR recordings (text, CSV, Polar HRM, Kubios; WFDB beat annotations; EDF+/BDF
ECG channels) read as RR series, result tables (CSV, JSON, Parquet), the CSV journal of a live
session, and hrvcoach's session files (rr, csv, json, edf). No SQLite here."""
