#!/usr/bin/env bash
# Makes docs/raw-moving.png (the window during the moving form of a 20-minute qigong-moving
# session), docs/raw-end.png (its end page) and docs/raw-report.png (its report) with hrvcoach
# itself (offscreen window) on fakebluez's simulated person wearing a fake Polar H10, its raw
# ECG and accelerometer streamed over the real Bluetooth path (../shared/tools/fakebluez).
# The person: still and breathing freely, a 5-minute Qigong form, still slow breathing at 6/min
# with the pacer, still recovery. Run from the checkout: bash docs/raw-screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
SPEED=20
WORK=$(mktemp -d)
trap '[ -z "${KEEP:-}" ] && rm -rf "$WORK"; [ -n "${FAKE:-}" ] && kill "$FAKE" 2>/dev/null || true' EXIT

run() {  # run NAME DURATION_S [coach options...]: one session on a fresh fake strap
    local name=$1 duration=$2
    shift 2
    $BIN/python -m fakebluez --person --seed 7 --speed $SPEED \
        --breathing 320:free,300:free,300:6,600:free --moving 330:290:qigong \
        >"$WORK/$name-fake.log" 2>&1 &
    FAKE=$!
    until grep -q READY "$WORK/$name-fake.log"; do sleep 0.1; done
    DBUS_SYSTEM_BUS_ADDRESS=$(head -1 "$WORK/$name-fake.log" | cut -d= -f2-) \
        QT_QPA_PLATFORM=offscreen $BIN/hrvcoach --data-dir "$WORK/$name" coach \
        --device "Polar H10" --protocol qigong-moving --speed $SPEED --duration "$duration" \
        --sound off "$@" >"$WORK/$name.log" 2>&1
    kill "$FAKE"
    wait "$FAKE" 2>/dev/null || true
    FAKE=
}

run moving 470 --screenshot docs/raw-moving.png
run whole 1200 --screenshot docs/raw-end.png --screenshot-summary
$BIN/hrvcoach --data-dir "$WORK/whole" report last -o docs/raw-report.png
echo "docs/raw-moving.png, docs/raw-end.png and docs/raw-report.png written${KEEP:+ (data in $WORK)}"
