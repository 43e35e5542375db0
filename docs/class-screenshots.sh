#!/usr/bin/env bash
# Makes docs/class-3.png and docs/class-8.png with hrvcoach itself (offscreen window).
#   class-8: eight simulated participants.
#   class-3: three fake Polar H10s on one fake radio (fakebluez, ../shared/tools/fakebluez):
#            the real Bluetooth path; Ben's strap is taken off near the end (reconnecting).
# Run from the checkout: bash docs/class-screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
HOME_DIR=$(mktemp -d)
trap 'rm -rf "$HOME_DIR"; [ -n "${FAKE:-}" ] && kill "$FAKE" 2>/dev/null || true' EXIT

QT_QPA_PLATFORM=offscreen $BIN/hrvcoach --data-dir "$HOME_DIR/eight" class --simulate 8 \
    --labels Anna,Ben,Cleo,Dario,Eun-ji,Farah,Gustav,Hiroko --speed 30 --duration 150 \
    --screenshot docs/class-8.png >/dev/null

$BIN/python -m fakebluez --straps 3 --person --breathing 60:free,240:6 --speed 20 \
    --signal-target 1 >"$HOME_DIR/fake.log" 2>&1 &
FAKE=$!
until grep -q READY "$HOME_DIR/fake.log"; do sleep 0.1; done
export "$(head -1 "$HOME_DIR/fake.log")"   # DBUS_SYSTEM_BUS_ADDRESS of the fake BlueZ
QT_QPA_PLATFORM=offscreen $BIN/hrvcoach --data-dir "$HOME_DIR/three" class \
    --devices 2B3C4D5E,2C3D4E5F,2D3E4F60 --labels Anna,Ben,Cleo --speed 20 --duration 150 \
    --scan-timeout 2 --screenshot docs/class-3.png >"$HOME_DIR/class.log" 2>&1 &
CLASS=$!
ben_s() {  # session time of the last beat in Ben's recording (0 before it exists)
    local file
    file=$(ls "$HOME_DIR"/three/recordings/*-P2.csv 2>/dev/null || true)
    [ -n "$file" ] && tail -1 "$file" | awk -F, '$1 ~ /^[0-9.]+$/ {print int($1); exit} {print 0}' || echo 0
}
until [ "$(ben_s)" -ge 120 ]; do sleep 0.05; done
kill -USR1 "$FAKE"             # at 2:00 Ben's strap comes off (strap 1 of the fake radio)
wait "$CLASS"
grep -q "screenshot saved" "$HOME_DIR/class.log"
echo "docs/class-3.png and docs/class-8.png written"
