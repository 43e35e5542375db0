"""Lab Streaming Layer in tests: liblsl kept on this machine and to this test run, and a receiver
that records every stream of a source the way LabRecorder would.

liblsl finds streams by multicast; a sandbox or CI runner may not route it, and two test runs on
one machine would see each other's streams. So every test (and every hrvcoach process a test
starts: LSLAPICFG is inherited) uses one configuration file: discovery scoped to this machine,
127.0.0.1 asked directly as a known peer, and a session id of its own (streams of another
session id are invisible).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.helpers import environment

LSL_CONFIG = """\
[log]
level = -2
[multicast]
ResolveScope = machine
[lab]
KnownPeers = {{127.0.0.1}}
SessionID = {session_id}
"""


@pytest.fixture(scope="session", autouse=True)
def lsl_on_this_machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """LSLAPICFG for the whole test session (set before liblsl reads its configuration)."""
    path = tmp_path_factory.mktemp("lsl") / "lsl_api.cfg"
    session_id = f"hrvcoach-tests-{uuid.uuid4().hex[:12]}"
    path.write_text(LSL_CONFIG.format(session_id=session_id), encoding="utf-8")
    with environment("LSLAPICFG", str(path)):
        yield session_id


@dataclass
class Received:
    """One stream as a receiver got it: its info and every (timestamp, sample)."""

    info: Any  # pylsl.StreamInfo, with its desc
    samples: list[tuple[float, list[Any]]] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)  # local_clock() when pulled

    @property
    def stamps(self) -> list[float]:
        return [stamp for stamp, _values in self.samples]

    def column(self, index: int) -> list[Any]:
        return [values[index] for _stamp, values in self.samples]

    def channels(self) -> list[dict[str, str]]:
        """desc/channels/channel as dicts (label, unit, type)."""
        found = []
        channel = self.info.desc().child("channels").child("channel")
        while not channel.empty():
            found.append({key: channel.child_value(key) for key in ("label", "unit", "type")})
            channel = channel.next_sibling("channel")
        return found

    def events(self) -> list[tuple[float, dict[str, Any]]]:
        """A Markers stream's JSON events with their timestamps."""
        return [(stamp, json.loads(values[0])) for stamp, values in self.samples]


class LslReceiver:
    """Resolves the named streams of one source_id, connects to each (so the outlets see a
    consumer) and pulls every sample on a thread until `stop`."""

    def __init__(self, source_id: str, names: list[str], *, timeout_s: float = 30.0) -> None:
        import pylsl

        self._pylsl = pylsl
        self.streams: dict[str, Received] = {}
        self._inlets: dict[str, Any] = {}
        deadline = time.monotonic() + timeout_s
        found: dict[str, Any] = {}
        while len(found) < len(names) and time.monotonic() < deadline:
            for info in pylsl.resolve_byprop("source_id", source_id, minimum=len(names),
                                             timeout=1.0):
                if info.name() in names:
                    found[info.name()] = info
        missing = sorted(set(names) - set(found))
        assert not missing, f"LSL streams not found for {source_id!r}: {missing}"
        for name, info in found.items():
            inlet = pylsl.StreamInlet(info, max_buflen=3600)
            inlet.open_stream(timeout=10.0)
            self._inlets[name] = inlet
            self.streams[name] = Received(inlet.info(timeout=10.0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pull, daemon=True)
        self._thread.start()

    def _pull(self) -> None:
        while not self._stop.is_set():
            got = False
            for name, inlet in self._inlets.items():
                values, stamp = inlet.pull_sample(timeout=0.0)
                if values is not None:
                    got = True
                    self.streams[name].samples.append((stamp, values))
                    self.streams[name].received_at.append(self._pylsl.local_clock())
            if not got:
                time.sleep(0.002)

    def stop(self, linger_s: float = 1.0) -> dict[str, Received]:
        """Pull what is still on its way for `linger_s`, then stop; the streams received."""
        time.sleep(linger_s)
        self._stop.set()
        self._thread.join(timeout=10)
        return self.streams
