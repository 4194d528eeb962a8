#!/usr/bin/env bash
# The web console end to end (docs/console.md): a gallery of real photos in a temporary
# directory (two sources), four users, `lineup serve` on a free local port, and console.test.mjs
# driving Debian's headless Chromium through sign-in, a case, a search, a review, its
# confirmation by a second analyst and the audit log. Screenshots go to ARTIFACT_DIR.
#
#   bash tests/e2e/run.sh PATH/TO/lineup ARTIFACT_DIR      (ctest: e2e_console)
#
# Needs node >= 20 and chromium (Debian: apt-get install nodejs npm chromium); the
# photos come from $LINEUP_DATA, else <repo>/../shared/data. CHROMIUM overrides the
# browser (default /usr/bin/chromium).
set -euo pipefail

fail() {
  echo "e2e: FAIL: $*" >&2
  exit 1
}

[ $# -eq 2 ] || { echo "usage: bash tests/e2e/run.sh PATH/TO/lineup ARTIFACT_DIR" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
lineup=$(realpath "$1") || fail "no lineup binary at $1"
[ -x "$lineup" ] || fail "$lineup is not an executable (build it: cmake --build build/release --target lineup_cli)"
mkdir -p "$2"
art=$(realpath "$2")

# ---------------------------------------------------------------- tools
command -v node >/dev/null || fail "node is not installed (Debian: apt-get install nodejs npm)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "node $(node --version) is too old; playwright-core needs node >= 20"
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || fail "no Chromium at $chromium (Debian: apt-get install chromium; or set CHROMIUM)"
if [ ! -d "$here/node_modules/playwright-core" ]; then
  command -v npm >/dev/null || fail "npm is not installed (Debian: apt-get install npm)"
  echo "e2e: installing playwright-core (npm ci; no browser download)"
  npm ci --ignore-scripts --no-audit --no-fund --prefix "$here" >&2 || fail "npm ci in $here failed"
fi

# ---------------------------------------------------------------- photos
data=${LINEUP_DATA:-$repo/../shared/data}
knn=$data/face_recognition/examples/knn_examples
[ -d "$knn/train" ] || fail "no sample photos in $knn (set LINEUP_DATA, or run scripts/setup.sh)"
probe=$knn/test/obama1.jpg
group=$knn/test/obama_and_biden.jpg
crowd=$data/groups/dlib_bald_guys.jpg  # one photo, many faces: a source whose images and faces differ
# Group photos of the people of knn_examples, in a source whose legal basis allows network
# analysis only: the persons' co-appearance network (and no search candidate from them).
gatherings=("$data/groups/face_recognition_obama_and_biden.jpg" "$data/groups/face_recognition_two_people.jpg"
  "$data/groups/face_recognition_kit_with_rose.jpg" "$data/groups/deepface_couple.jpg")
for f in "$probe" "$group" "$crowd" "${gatherings[@]}"; do [ -f "$f" ] || fail "no photo $f"; done

# ---------------------------------------------------------------- gallery and users
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lineup-e2e.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    sleep 1
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gallery=$tmp/gallery
rm -f "$art"/*.png "$art/server.log" "$art/setup.log"
: >"$art/setup.log"
log=$art/setup.log
run() {  # a setup command, its output kept in setup.log
  echo "\$ $*" >>"$log"
  "$@" >>"$log" 2>&1 || fail "'$*' failed (exit $?); see $log"
}
echo "e2e: gallery in $gallery"
run "$lineup" init "$gallery"
run "$lineup" source add press --legal-basis "Published press photographs (test data)" \
  --description "face_recognition's knn_examples" --gallery "$gallery"
run "$lineup" source add events --legal-basis "Event photographs (test data)" \
  --description "dlib's bald_guys.jpg" --gallery "$gallery"
run "$lineup" source add gatherings --legal-basis "Seized group photographs, network analysis only (test data)" \
  --description "group photos of groups/" --purposes network --gallery "$gallery"
# Enrols and prints {"images": N, "faces": M}, from the last line of `lineup enroll --json`.
enroll_counted() {
  echo "\$ lineup enroll $* --json" >>"$log"
  "$lineup" enroll "$@" --gallery "$gallery" --json 2>>"$log" | tee -a "$log" | tail -1 |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);
      console.log(JSON.stringify({images:j.enrolled_images,faces:j.faces}))})' ||
    fail "'lineup enroll $*' failed; see $log"
}
press_counts=$(enroll_counted "$knn/train" --source press --subject-from-dir)
events_counts=$(enroll_counted "$crowd" --source events)
gatherings_counts=$(enroll_counted "${gatherings[@]}" --source gatherings)
export E2E_SOURCES="{\"press\": $press_counts, \"events\": $events_counts, \"gatherings\": $gatherings_counts}"
echo "e2e: enrolled $E2E_SOURCES"

password() { printf 'e2e-%s' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"; }
export E2E_ADMIN=e2e-admin E2E_ANALYST1=e2e-analyst1 E2E_ANALYST2=e2e-analyst2 E2E_AUDITOR=e2e-auditor
export E2E_PASSWORD_ADMIN=$(password) E2E_PASSWORD_ANALYST1=$(password) \
  E2E_PASSWORD_ANALYST2=$(password) E2E_PASSWORD_AUDITOR=$(password)
add_user() {  # NAME ROLE PASSWORD
  echo "\$ lineup user add $1 --role $2 --password-stdin" >>"$log"
  printf '%s\n' "$3" | "$lineup" user add "$1" --role "$2" --password-stdin --gallery "$gallery" >>"$log" 2>&1 ||
    fail "'lineup user add $1 --role $2' failed; see $log"
}
add_user "$E2E_ADMIN" admin "$E2E_PASSWORD_ADMIN"
add_user "$E2E_ANALYST1" analyst "$E2E_PASSWORD_ANALYST1"
add_user "$E2E_ANALYST2" analyst "$E2E_PASSWORD_ANALYST2"
add_user "$E2E_AUDITOR" auditor "$E2E_PASSWORD_AUDITOR"

# ---------------------------------------------------------------- server
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
url=http://127.0.0.1:$port
"$lineup" serve --gallery "$gallery" --listen "127.0.0.1:$port" --web-root "$repo/web" >"$art/server.log" 2>&1 &
server_pid=$!
echo "e2e: lineup serve on $url (pid $server_pid, log $art/server.log)"
ready=0
for _ in $(seq 1 120); do
  kill -0 "$server_pid" 2>/dev/null || fail "lineup serve exited at start; see $art/server.log: $(tail -3 "$art/server.log")"
  if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$url/healthz"; then
    ready=1
    break
  fi
  sleep 0.5
done
[ $ready -eq 1 ] || fail "lineup serve did not answer GET /healthz within 60 s; see $art/server.log"

# ---------------------------------------------------------------- the browser test
test_rc=0
E2E_URL=$url E2E_PROBE=$probe E2E_PROBE_GROUP=$group E2E_ARTIFACTS=$art CHROMIUM=$chromium E2E_LINEUP=$lineup \
  timeout 240 node "$here/console.test.mjs" || test_rc=$?

# ---------------------------------------------------------------- stop the server
kill -TERM "$server_pid"
server_rc=0
for _ in $(seq 1 60); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.25
done
if kill -0 "$server_pid" 2>/dev/null; then
  fail "lineup serve did not stop within 15 s of SIGTERM; see $art/server.log"
fi
wait "$server_pid" || server_rc=$?
server_pid=""

[ $test_rc -eq 0 ] || fail "the console test failed (exit $test_rc); screenshots and server.log in $art"
[ $server_rc -eq 0 ] || fail "lineup serve exited with $server_rc after SIGTERM, expected 0; see $art/server.log"
echo "e2e: PASS; screenshots in $art"
