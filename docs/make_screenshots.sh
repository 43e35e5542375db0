#!/usr/bin/env bash
# The README's screenshots, made by hrvcoach itself (the window rendered offscreen): the paced
# phase, the focus view and the summary of a qigong session on the simulated strap, and the
# setup page, at 960x600 (the smallest window), 1280x800 (the default) and 1920x1080; and
# docs/coach.png, the README's first picture. About a minute:
#
#     bash docs/make_screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
hrvcoach=${HRVCOACH:-.venv/bin/hrvcoach}
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export QT_QPA_PLATFORM=offscreen HRVCOACH_HOME="$home"
out=docs/screenshots
mkdir -p "$out"
# qigong: 5 min baseline, 15 min slow breathing at 6/min, 5 min recovery; 560 s is 4 min 20 s
# into the slow breathing (a breath's turn from out to in)
for size in 960x600 1280x800 1920x1080; do
    "$hrvcoach" demo --protocol qigong --seed 3 --sim-artifacts 0.5 --speed 100 --duration 560 \
        --size "$size" --screenshot "$out/paced-$size.png" > /dev/null
    "$hrvcoach" demo --protocol qigong --seed 3 --speed 100 --duration 562 --focus \
        --size "$size" --screenshot "$out/focus-$size.png" > /dev/null
    "$hrvcoach" demo --protocol qigong --seed 3 --speed 500 --screenshot-summary \
        --size "$size" --screenshot "$out/summary-$size.png" > /dev/null
    "$hrvcoach" window --protocol qigong --size "$size" --screenshot "$out/setup-$size.png" \
        > /dev/null
done
"$hrvcoach" demo --screenshot docs/coach.png --speed 30 --duration 153 --sim-artifacts 1 > /dev/null
echo "screenshots saved in $out and docs/coach.png"
