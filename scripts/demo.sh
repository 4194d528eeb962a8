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
gallery=lineup-data
echo "== gallery: lineup init $gallery; lineup source add; lineup enroll samples/ (skips photos already enrolled)"
[ -f "$gallery/catalog.sqlite" ] || "$lineup" init "$gallery" >/dev/null || exit 2
"$lineup" source list --gallery "$gallery" --json | grep -q '"face-api-samples"' ||
  "$lineup" source add face-api-samples --gallery "$gallery" \
    --legal-basis "demonstration photos shipped with @vladmandic/face-api 1.7.15 (MIT licence)" \
    --description "the six sample photos of the face-api package" || exit 2
"$lineup" enroll samples --source face-api-samples --gallery "$gallery" || exit 2
echo
echo "== lineup search samples/sample6.jpg --top 5 --all --html $out/search.html"
"$lineup" search samples/sample6.jpg --top 5 --all --gallery "$gallery" --html "$out/search.html"
echo "(exit $?: 0 candidates at or above the threshold, 1 none)"
"$lineup" info --gallery "$gallery"
echo
echo "demo: search report (probe beside each candidate, with score, FPIR and provenance): $root/$out/search.html"
echo "demo: annotated pictures (boxes, five landmarks, quality and its reasons) are in $root/$out/:"
ls -1 "$out"/*.png | sed 's/^/  /'
echo
echo "demo: to search this gallery as a team from a browser (accounts, cases, review, audit):"
echo "  build/release/lineup user add YOUR_NAME --role admin --gallery $gallery"
echo "  build/release/lineup serve --gallery $gallery        # then open http://127.0.0.1:8080/"
