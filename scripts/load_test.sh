#!/usr/bin/env bash
# The service under load: a gallery of FACES synthetic faces (default 100,000) plus the
# real photos of face_recognition's examples, served by `lineup serve`, searched by
# vector and by photo from concurrent clients for LOAD_SECONDS (default 180) by
# `lineup bench load`. Writes out/bench/load.json; exits non-zero on any error.
#   FACES=100000 LOAD_SECONDS=180 scripts/load_test.sh     (also: make bench-load)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
lineup="$root/build/release/lineup"
data="${LINEUP_DATA:-$root/../shared/data}"
faces="${FACES:-100000}"
secs="${LOAD_SECONDS:-180}"
out="${OUT:-$root/out/bench/load.json}"
[ -x "$lineup" ] || { echo "load_test: build first (make build)" >&2; exit 2; }
[ -d "$data/face_recognition" ] || { echo "load_test: no photos in $data" >&2; exit 2; }
work="$(mktemp -d "${TMPDIR:-/tmp}/lineup-load-XXXXXX")"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
g="$work/gallery"
echo "load_test: building a gallery of $faces synthetic faces in $g"
"$lineup" bench open --faces "$faces" --dir "$g" --queries 10 > "$work/open.log"
"$lineup" source add real-photos --legal-basis "test photos (face_recognition examples, MIT)" --gallery "$g" >/dev/null
"$lineup" enroll "$data/face_recognition/examples" --source real-photos --gallery "$g" > "$work/enroll.log"
tail -n 3 "$work/enroll.log"
printf '%s\n' "load-test-password" | "$lineup" user add loadtest --role analyst --password-stdin --gallery "$g" >/dev/null
token="$("$lineup" user token loadtest --days 1 --json --gallery "$g" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
port=$(( 20000 + RANDOM % 20000 ))
"$lineup" serve --gallery "$g" --listen "127.0.0.1:$port" 2> "$work/serve.log" &
pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$port/healthz"; echo
case_id="$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"title":"load test","authority":"benchmark"}' "http://127.0.0.1:$port/v1/cases" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
mkdir -p "$(dirname "$out")"
photos=()
for f in "$data"/face_recognition/examples/knn_examples/test/*.jpg "$data"/face_recognition/examples/obama*.jpg; do
  photos+=(--photo "$f")
done
status=0
"$lineup" bench load --url "http://127.0.0.1:$port" --token "$token" --case "$case_id" "${photos[@]}" \
  --vector-clients "${VECTOR_CLIENTS:-2}" --photo-clients "${PHOTO_CLIENTS:-2}" --seconds "$secs" \
  --server-pid "$pid" --json "$out" || status=$?
kill -TERM "$pid"
wait "$pid" || { echo "load_test: the server did not stop cleanly" >&2; status=1; }
pid=""
exit $status
