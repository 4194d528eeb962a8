#!/usr/bin/env bash
# A cluster of shard nodes end to end (issue 19): scripts/cluster.sh up --nodes 3
# --shards 2 (nodes 0 and 2 keep shard 0, node 1 shard 1), real LFW photos queued with
# `lineup cluster enroll` and enrolled by the nodes' workers, then `lineup cluster
# search`: complete while a replica of shard 0 is killed, partial (exit 4, shard 1
# named) while shard 1's only node is down, complete again once it is restarted and has
# caught up. Usage: nodes_test.sh LINEUP_BINARY
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export LINEUP_BIN="$1"
data="${LINEUP_DATA:-$root/../shared/data}"
[ -d "$data/lfw/images" ] || { echo "SKIP: no LFW photos in $data"; [ "${CI:-}" = true ] && exit 1; exit 0; }
work="$(mktemp -d)"
chmod 711 "$work"
dir="$work/cluster"
export CLUSTER_PORT_BASE="${CLUSTER_PORT_BASE:-15822}"
cluster() { "$root/scripts/cluster.sh" "$@" --dir "$dir"; }
trap 'cluster down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; cluster status >&2 || true; tail -n 5 "$dir"/node*.log >&2 || true; exit 1; }

cluster up --nodes 3 --shards 2
set -a; . "$dir/env"; set +a
[ "$LINEUP_SHARDS" = 2 ] || fail "LINEUP_SHARDS is $LINEUP_SHARDS"

# 20 LFW people's folders (their photos; one photo of the first queued twice).
mapfile -t all < <(ls "$data/lfw/images")
people=()
for p in "${all[@]:0:20}"; do people+=("$data/lfw/images/$p"); done
"$LINEUP_BIN" cluster enroll "${people[@]}" --source lfw --legal-basis "test photos" --json > "$work/enrol.json"
queued=$(sed 's/.*"queued":\([0-9]*\).*/\1/' "$work/enrol.json")
[ "$queued" -ge 25 ] || fail "queued $queued photos"
again=$("$LINEUP_BIN" cluster enroll "$data/lfw/images/Aaron_Peirsol" --source lfw --legal-basis "test photos" --json)
[[ "$again" == *'"queued":0'* ]] || fail "a photo queued twice was queued again: $again"

# Wait until the two replicas of shard 0 agree and the faces stop coming.
faces_of() { grep 'node: shard' "$dir/node$1.log" | tail -1 | sed 's/.* \([0-9]*\) faces.*/\1/'; }
prev=-1
for t in $(seq 1 120); do
  a=$(faces_of 0); b=$(faces_of 1); c=$(faces_of 2)
  total=$((a + b))
  if [ "$a" = "$c" ] && [ "$total" = "$prev" ] && [ "$total" -ge "$queued" ]; then break; fi
  prev=$total
  sleep 1
done
[ "$a" = "$c" ] || fail "the replicas of shard 0 differ: $a and $c faces"
[ "$total" -ge "$queued" ] || fail "only $total faces from $queued photos"
[ "$a" -gt 0 ] && [ "$b" -gt 0 ] || fail "a shard got no photo ($a, $b)"
echo "enrolled: $total faces (shard 0: $a on nodes 0 and 2, shard 1: $b)"

probe="$data/lfw/images/Aaron_Peirsol/Aaron_Peirsol_0002.jpg"
search() { "$LINEUP_BIN" cluster search "$probe" --top 5 --deadline 1000 --json; }
out=$(search) || fail "search failed: $out"
[[ "$out" == *'"partial": false'* ]] || fail "not complete: $out"
top=$(tr -d ' \n' <<< "$out" | sed 's/.*"candidates":\[{[^}]*"score":\([0-9.]*\).*/\1/')
awk -v s="$top" 'BEGIN { exit !(s > 0.9) }' || fail "the probe's own photo is not first: $out"

# A replica of shard 0 killed: node 2 answers for it.
cluster kill-node 0
for i in 1 2 3 4 5; do
  out=$(search) || fail "search with node 0 down failed: $out"
  [[ "$out" == *'"partial": false'* ]] || fail "partial with one replica of shard 0 down: $out"
done

# Shard 1's only node killed: partial, in time, naming shard 1, exit 4.
cluster kill-node 1
set +e
out=$(search); rc=$?
set -e
[ "$rc" = 4 ] || fail "exit $rc with shard 1 down (want 4): $out"
[[ "$out" == *'"partial": true'* && "$out" == *'"shard": 1'* ]] || fail "shard 1 not named: $out"

# Restarted, node 1 catches up from its log and serves again; node 0 likewise.
cluster start-node 1
cluster start-node 0
[ "$(faces_of 1)" = "$b" ] || fail "node 1 came back with $(faces_of 1) faces, not $b"
out=$(search) || fail "search after restart failed: $out"
[[ "$out" == *'"partial": false'* ]] || fail "still partial after restart: $out"
cluster status
cluster down
echo "cluster nodes: ok"
