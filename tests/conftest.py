"""Shared pytest setup: Qt runs offscreen, so window tests need no display."""

from __future__ import annotations

import os

# Before any QApplication exists (pytest-qt creates one lazily, in its qapp fixture).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The Bluetooth fixtures (fake BlueZ + simulated strap; they skip clearly without ../shared).
from tests.ble_fixtures import ble_bus, ble_world  # noqa: F401
