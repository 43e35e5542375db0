"""Writes the nasty-file corpus beside this script (run it again after changing a case):
`python tests/data/nasty/make_corpus.py`. README.md lists each file and what hrvcoach must say.

Every file is bad input that once gave a traceback, a hang, a silent wrong result or a broken
data folder (issue 13, "Why"); tests/integration/test_bad_input.py runs hrvcoach on each.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
RR = [812.5, 845.703125, 870.1171875, 833.984375, 801.7578125, 790.0390625, 825.1953125,
      860.3515625, 880.859375, 842.7734375] * 3
TIMES = [round(sum(RR[: i + 1]) / 1000, 4) for i in range(len(RR))]
BASE = {
    "format": "hrvcoach-session", "version": 1,
    "session": {"id": 1, "started_at": "2026-11-25T07:30:00+01:00",
                "ended_at": "2026-11-25T07:30:25+01:00", "protocol": "demo", "source": "ble",
                "device": "Polar H10 2B3C4D5E", "status": "completed", "end_reason": "duration reached"},
    "phases": [
        {"index": 0, "name": "settle", "kind": "baseline", "start_s": 0.0, "end_s": 12.0,
         "breaths_per_min": None, "ramp_to_breaths_per_min": None, "pacing": "breathe freely",
         "compare": "before"},
        {"index": 1, "name": "slow breathing", "kind": "paced", "start_s": 12.0,
         "end_s": TIMES[-1], "breaths_per_min": 6.0, "ramp_to_breaths_per_min": None,
         "pacing": "6 breaths/min (4 s in, 6 s out)", "compare": None},
    ],
    "annotations": [{"time_s": 0.5, "kind": "connected", "text": "Polar H10 2B3C4D5E"}],
    "beats": {"time_s": TIMES, "rr_ms": RR, "contact": [True] * len(RR),
              "after_gap": [False] * len(RR), "artifact": [None] * len(RR)},
}


def session_json(name: str, change) -> None:
    document = copy.deepcopy(BASE)
    change(document)
    (HERE / name).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def session_csv(name: str, change) -> None:
    meta = copy.deepcopy({k: BASE[k] for k in ("format", "version", "session", "phases")})
    change(meta)
    lines = ["# hrvcoach session " + json.dumps(meta, separators=(",", ":")),
             "time_s,rr_ms,contact,after_gap,artifact,phase"]
    lines += [f"{t!r},{rr!r},1,0,,settle" for t, rr in zip(TIMES, RR, strict=True)]
    (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def text(name: str, body: str) -> None:
    (HERE / name).write_text(body, encoding="utf-8")


def main() -> None:
    # readers
    text("polar_lone_comma.hrm", "[Params]\nVersion=106\nInterval=238\n\n[HRData]\n812\n,\n820\n")
    text("kubios_header_last_line.txt", "Kubios HRV\nRR INTERVAL DATA\n  ,  Time, RR interval\n")
    text("kubios_two_titles.txt", "RR INTERVAL DATA\nRR INTERVAL DATA\n")  # found by the fuzz suite
    text("kubios_semicolons.txt", "HRV ANALYSIS RESULTS\nRR INTERVAL DATA;\n;Time;RR interval\n"
         ";(s);(s)\n" + "".join(f";{t};{rr / 1000}\n" for t, rr in zip(TIMES, RR, strict=True)) + "\n")
    text("heart_rates_bpm.txt", "".join(f"{60 + (i * 7) % 11}\n" for i in range(620)))
    text("rr_1e9_ms.txt", "812\n1000000000\n830\n")
    # session files
    text("session_header_list.csv", "# hrvcoach session []\ntime_s,rr_ms,contact,after_gap,"
         "artifact,phase\n0.8,800,1,0,,a\n1.6,800,1,0,,a\n")
    session_json("session_annotations_5.json", lambda d: d.update(annotations=5))
    session_json("session_started_at_number.json", lambda d: d["session"].update(started_at=20261125))
    session_json("session_phase_name_list.json", lambda d: d["phases"][0].update(name=["settle"]))
    session_json("session_phase_name_dict.json", lambda d: d["phases"][0].update(name={"a": 1}))
    session_json("session_annotation_time_nan.json", lambda d: d["annotations"][0].update(time_s="nan"))
    session_json("session_phase_types.json", lambda d: d["phases"][1].update(
        name=7, breaths_per_min="6", index=1.5))
    session_json("session_duplicate_phase_index.json", lambda d: d["phases"][1].update(index=0))
    session_json("session_escape_text.json", lambda d: d["session"].update(
        protocol="\x1b]0;owned\x07\x1b[2Jdemo"))
    big = json.dumps(BASE).replace('"start_s": 0.0', '"start_s": ' + "9" * 400, 1)
    text("session_400_digits.json", big)
    text("session_nested_deep.json", '{"format": "hrvcoach-session", "version": 1, "beats": '
         + "[" * 100_000 + "]" * 100_000 + "}")
    session_csv("session_phase_index_zero.csv", lambda m: m["phases"][0].update(index="zero"))
    # protocols
    text("protocol_minutes_1e308.toml", 'name = "huge"\n[[phase]]\nkind = "baseline"\nminutes = 1e308\n')
    text("protocol_seconds_1e308.toml", 'name = "huge"\n[[phase]]\nkind = "baseline"\nseconds = 1e308\n')
    text("protocol_long_name.toml", f'name = "{"x" * 240}"\n[[phase]]\nkind = "baseline"\nseconds = 30\n')
    text("protocol_nested_deep.toml", 'name = "deep"\na = ' + "[" * 100_000 + "]" * 100_000 + "\n")
    text("protocol_escape_name.toml", 'name = "\\u001b]0;owned\\u0007\\u001b[2Jcalm"\n[[phase]]\n'
         'kind = "baseline"\nseconds = 30\n')
    # strap profiles
    text("device_escape_notes.toml", 'name = "evil"\nservice_uuids = ["180d"]\n'
         'notes = "\\u001b[2J"\n')


if __name__ == "__main__":
    main()
