"""Shared pytest setup: Qt runs offscreen, so window tests need no display."""

from __future__ import annotations

import os

# Before any QApplication exists (pytest-qt creates one lazily, in its qapp fixture).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The Bluetooth fixtures (fake BlueZ + simulated strap; they skip clearly without ../shared).
from tests.ble_fixtures import ble_bus, ble_world  # noqa: F401

# Lab Streaming Layer kept on this machine and to this test run (every test; hrvcoach processes
# inherit it through LSLAPICFG).
from tests.lsl_fixtures import lsl_on_this_machine  # noqa: F401
