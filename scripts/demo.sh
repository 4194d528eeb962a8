#!/usr/bin/env bash
# make demo: finds every face in the six sample photos fetched at set-up, draws them,
# and compares two faces. Pictures go to out/demo/.
set -uo pipefail
lineup="${1:-build/release/lineup}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out=out/demo
mkdir -p "$out"
echo "== lineup detect samples/*.jpg --draw $out"
"$lineup" detect samples/sample*.jpg --draw "$out"
rc=$?
[ $rc -le 1 ] || { echo "demo: detect failed (exit $rc)" >&2; exit $rc; }
echo
echo "== lineup verify samples/sample1.jpg samples/sample1.jpg --face-a 1 --face-b 2  (two people in one photo)"
"$lineup" verify samples/sample1.jpg samples/sample1.jpg --face-a 1 --face-b 2
echo "(exit $?: 0 same person, 1 not the same person)"
echo
echo "== lineup verify samples/sample2.jpg samples/sample3.jpg  (the largest usable face of each)"
"$lineup" verify samples/sample2.jpg samples/sample3.jpg
echo "(exit $?)"
echo
echo "demo: annotated pictures (boxes, five landmarks, quality and its reasons) are in $root/$out/:"
ls -1 "$out"/*.png | sed 's/^/  /'
