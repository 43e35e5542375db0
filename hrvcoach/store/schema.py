"""The session store's schema: the SQL of each version and the migrations between them.

Append new versions; never edit a released one. `Database` applies each in its own IMMEDIATE
transaction after backing the file up (db.py), with foreign keys off (a table rebuilt by a
migration must not take its rows' children with it); the foreign keys are checked before commit.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable
from typing import Final

from hrvcoach.core.markers import LEGACY_NAMES, current_names

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "TABLES", "Migration", "beats_sha256", "statements"]

_SCHEMA_V1: Final = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,                 -- ISO 8601, local time with UTC offset
    ended_at TEXT,                            -- NULL while running
    duration_s REAL,                          -- session time of the last beat
    source TEXT NOT NULL,                     -- simulator | replay | ble | import
    device TEXT NOT NULL DEFAULT '',
    protocol TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN
        ('running', 'completed', 'stopped', 'interrupted', 'imported')),
    end_reason TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL DEFAULT '',          -- the CSV journal, or the imported file
    content_sha256 TEXT,                      -- of an imported file (no double imports)
    lock_token TEXT,                          -- LOCK_DIR/<token>.lock is held while running
    pid INTEGER,
    host TEXT,
    alive_at REAL,                            -- unix time of the last heartbeat while running
    markers_at TEXT                           -- when markers were computed; NULL: still to do
);
CREATE UNIQUE INDEX sessions_content ON sessions(content_sha256) WHERE content_sha256 IS NOT NULL;
CREATE INDEX sessions_started ON sessions(started_at);

CREATE TABLE phases (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,                     -- 0-based position in the protocol
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('baseline', 'paced', 'recovery', 'free')),
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,                      -- planned end; the last beat's time once cut short
    breaths_per_min REAL,                     -- NULL: spontaneous breathing
    ramp_to_breaths_per_min REAL,
    pacing TEXT NOT NULL DEFAULT '',          -- e.g. '6 breaths/min (4 s in, 6 s out)'
    compare TEXT CHECK (compare IN ('before', 'after')),
    PRIMARY KEY (session_id, idx)
) WITHOUT ROWID;

CREATE TABLE beats (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,                     -- 0, 1, 2, ... in arrival order
    time_s REAL NOT NULL,
    rr_ms REAL NOT NULL,                      -- as the strap reported it, never rounded
    contact INTEGER CHECK (contact IN (0, 1)),  -- NULL: the strap does not say
    after_gap INTEGER NOT NULL CHECK (after_gap IN (0, 1)),
    artifact TEXT,                            -- ectopic | missed | extra | long_short | NULL
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

CREATE TABLE annotations (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    time_s REAL NOT NULL,
    kind TEXT NOT NULL,                       -- a source status ('contact lost', ...) or 'note'
    text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX annotations_session ON annotations(session_id, time_s);

CREATE TABLE phase_markers (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    phase_idx INTEGER NOT NULL,
    name TEXT NOT NULL,                       -- e.g. rmssd_ms, ln_rmssd, mean_hr_bpm
    value REAL,                               -- NULL: not computable (too short, not valid)
    PRIMARY KEY (session_id, phase_idx, name)
) WITHOUT ROWID;

CREATE TABLE profile (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    resonance_bpm REAL,
    assessed_at TEXT,
    session TEXT,
    scores_json TEXT NOT NULL DEFAULT '[]'
);
"""

# Schema 2: one name per marker (hrvcoach.core.markers): stored marker names and the profile's
# column and score keys take their catalogue names (LEGACY_NAMES); the scores are rewritten by
# _rename_profile_scores in the same transaction.
_SCHEMA_V2: Final = f"""
UPDATE phase_markers SET name = CASE name {" ".join(
    f"WHEN '{old}' THEN '{new}'" for old, new in LEGACY_NAMES.items())} ELSE name END;
ALTER TABLE profile RENAME COLUMN resonance_bpm TO resonance_breaths_per_min;
"""


def _rename_profile_scores(db: sqlite3.Connection) -> None:
    for row_id, scores in db.execute("SELECT id, scores_json FROM profile").fetchall():
        renamed = [current_names(score) for score in json.loads(scores)]
        db.execute("UPDATE profile SET scores_json = ? WHERE id = ?", (json.dumps(renamed), row_id))


# Schema 3: classes (`hrvcoach class`: several straps, one protocol, one pacer). The sessions of
# one class share a class_id; `participant` is the teacher's label for the person (it stays in
# the data folder), `pseudonym` (P1, P2, ...) is what exports and LSL streams carry instead.
_SCHEMA_V3: Final = """
ALTER TABLE sessions ADD COLUMN class_id INTEGER;
ALTER TABLE sessions ADD COLUMN participant TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN pseudonym TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_class ON sessions(class_id) WHERE class_id IS NOT NULL;
"""

# Schema 5: raw data (a Polar strap's PMD streams) and what the body analysis found in it: the ECG (µV) and
# accelerometer (mG, x y z interleaved) as chunks of little-endian int32 values, each with its
# first sample's session time, its rate and the strap's timestamp of its last sample; the breaths
# found in the chest's movement and the stretches in which the body moved. A phase may be of kind
# 'movement' (a Qigong form: its heart-rate response is reported, not vagal markers): the phases
# table is rebuilt with that kind allowed.
_SCHEMA_RAW: Final = """
CREATE TABLE raw_chunks (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    stream TEXT NOT NULL CHECK (stream IN ('ecg', 'acc')),
    seq INTEGER NOT NULL,                     -- 0, 1, 2, ... per stream in arrival order
    start_s REAL NOT NULL,                    -- session time of the first sample
    rate_hz REAL NOT NULL,
    n_samples INTEGER NOT NULL,
    sensor_ns INTEGER NOT NULL,               -- the strap's timestamp of the last sample
    after_gap INTEGER NOT NULL CHECK (after_gap IN (0, 1)),
    samples BLOB NOT NULL,                    -- int32 little-endian, n_samples x channels
    PRIMARY KEY (session_id, stream, seq)
) WITHOUT ROWID;

CREATE TABLE breaths (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    onset_s REAL NOT NULL,                    -- start of the in-breath, session time
    duration_s REAL NOT NULL,                 -- to the next onset
    inhale_s REAL NOT NULL,
    depth_mg REAL NOT NULL,
    moving INTEGER NOT NULL CHECK (moving IN (0, 1)),
    paced_per_min REAL,                       -- the pacer's rate at the onset; NULL: unpaced
    pacer_phase REAL,                         -- the pacer's breath cycle at the onset, 0..1
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

CREATE TABLE phases_v4 (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('baseline', 'paced', 'recovery', 'free', 'movement')),
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    breaths_per_min REAL,
    ramp_to_breaths_per_min REAL,
    pacing TEXT NOT NULL DEFAULT '',
    compare TEXT CHECK (compare IN ('before', 'after')),
    PRIMARY KEY (session_id, idx)
) WITHOUT ROWID;
INSERT INTO phases_v4 SELECT session_id, idx, name, kind, start_s, end_s, breaths_per_min,
    ramp_to_breaths_per_min, pacing, compare FROM phases;
DROP TABLE phases;
ALTER TABLE phases_v4 RENAME TO phases;

CREATE TABLE movement (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('gentle', 'walking', 'fidget')),
    PRIMARY KEY (session_id, start_s)
) WITHOUT ROWID;
"""

# Schema 4: a session can be `recovered` (rebuilt from its CSV journal after the store was lost),
# and each session keeps the key of its beat series (beats_sha256), so that a recording is
# recognised by its beats, whatever file it comes in (a CRLF copy, an export, the journal).
# SQLite cannot change a CHECK constraint in place: the sessions table is rebuilt.
_SESSION_COLUMNS_V3: Final = (
    "id, started_at, ended_at, duration_s, source, device, protocol, status, end_reason, origin,"
    " content_sha256, lock_token, pid, host, alive_at, markers_at, class_id, participant, pseudonym")
_SCHEMA_V4: Final = f"""
CREATE TABLE sessions_v4 (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,                 -- ISO 8601, local time with UTC offset
    ended_at TEXT,                            -- NULL while running
    duration_s REAL,                          -- session time of the last beat
    source TEXT NOT NULL,                     -- simulator | replay | ble | import
    device TEXT NOT NULL DEFAULT '',
    protocol TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN
        ('running', 'completed', 'stopped', 'interrupted', 'imported', 'recovered')),
    end_reason TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL DEFAULT '',          -- the CSV journal, or the imported file
    content_sha256 TEXT,                      -- of an imported file
    lock_token TEXT,                          -- LOCK_DIR/<token>.lock is held while running
    pid INTEGER,
    host TEXT,
    alive_at REAL,                            -- unix time of the last heartbeat while running
    markers_at TEXT,                          -- when markers were computed; NULL: still to do
    class_id INTEGER,                         -- schema 3: the class it belongs to
    participant TEXT NOT NULL DEFAULT '',
    pseudonym TEXT NOT NULL DEFAULT '',
    beats_sha256 TEXT                         -- the beat series' key (beats_sha256()); NULL while running
);
INSERT INTO sessions_v4 ({_SESSION_COLUMNS_V3}) SELECT {_SESSION_COLUMNS_V3} FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_v4 RENAME TO sessions;
CREATE UNIQUE INDEX sessions_content ON sessions(content_sha256) WHERE content_sha256 IS NOT NULL;
CREATE INDEX sessions_started ON sessions(started_at);
CREATE INDEX sessions_class ON sessions(class_id) WHERE class_id IS NOT NULL;
CREATE INDEX sessions_beats ON sessions(beats_sha256);
"""


def beats_sha256(rr_ms: Iterable[float]) -> str:
    """The key of a beat series: its RR values, exactly (every file format carries them
    exactly, and times not: an `rr` export rebuilds them)."""
    digest = hashlib.sha256()
    for rr in rr_ms:
        digest.update(f"{float(rr)!r}\n".encode())
    return digest.hexdigest()


def _key_every_session(db: sqlite3.Connection) -> None:
    for (session_id,) in db.execute("SELECT id FROM sessions WHERE status != 'running'").fetchall():
        rows = db.execute("SELECT rr_ms FROM beats WHERE session_id = ? ORDER BY seq", (session_id,))
        db.execute("UPDATE sessions SET beats_sha256 = ? WHERE id = ?",
                   (beats_sha256(row[0] for row in rows), session_id))


Migration = Callable[[sqlite3.Connection], None]
# (version, SQL, then Python)
MIGRATIONS: list[tuple[int, str, Migration | None]] = [
    (1, _SCHEMA_V1, None),
    (2, _SCHEMA_V2, _rename_profile_scores),
    (3, _SCHEMA_V3, None),
    (4, _SCHEMA_V4, _key_every_session),
    (5, _SCHEMA_RAW, None),
]
# The tables every version holds, with columns every version has (checked when a store opens).
TABLES: Final = {
    "schema_version": ("version", "applied_at"),
    "sessions": ("id", "started_at", "status", "protocol"),
    "phases": ("session_id", "idx", "name", "kind", "start_s", "end_s"),
    "beats": ("session_id", "seq", "time_s", "rr_ms", "contact", "after_gap", "artifact"),
    "annotations": ("session_id", "time_s", "kind", "text"),
    "phase_markers": ("session_id", "phase_idx", "name", "value"),
    "profile": ("id", "scores_json"),
}
SCHEMA_VERSION: Final = MIGRATIONS[-1][0]


def statements(script: str) -> list[str]:
    """The statements of a migration script (it has no ';' inside literals)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


