#!/usr/bin/env bash
# The cluster's shared services as scripts/cluster.sh starts them (issue 19): a 3-server
# NATS cluster with JetStream and PostgreSQL 15, on 127.0.0.1 only, refusing clients
# without credentials; one NATS server killed and restarted; everything gone after down.
# Uses its own port range and folder, and stops what it started on any exit.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
chmod 711 "$work"  # PostgreSQL runs as the postgres user when this runs as root
dir="$work/cluster"
export CLUSTER_PORT_BASE="${CLUSTER_PORT_BASE:-15322}"
b=$CLUSTER_PORT_BASE
cluster() { "$root/scripts/cluster.sh" "$@" --dir "$dir"; }
trap 'cluster down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cluster up --nodes 0
[ -f "$dir/env" ] || fail "no env file"
[ "$(stat -c %a "$dir/env")" = 600 ] || fail "env file is readable by others"
set -a; . "$dir/env"; set +a
[[ "$LINEUP_CLUSTER" == nats://*127.0.0.1:$b,* ]] || fail "LINEUP_CLUSTER is $LINEUP_CLUSTER"
[[ "$LINEUP_CATALOG" == postgresql://*@127.0.0.1:$((b + 30))/lineup ]] || fail "LINEUP_CATALOG is $LINEUP_CATALOG"
cluster status

# A second `up` on the same folder is refused, not a second cluster.
if cluster up --nodes 0 2>/dev/null; then fail "a second up on the same folder succeeded"; fi

# Every listener is on 127.0.0.1 only.
for p in $b $((b + 1)) $((b + 2)) $((b + 10)) $((b + 30)); do
  ss -ltnH "sport = :$p" | awk '{print $4}' | grep -qv '^127\.0\.0\.1:' && fail "port $p listens beyond 127.0.0.1"
  ss -ltnH "sport = :$p" | grep -q . || fail "nothing listens on $p"
done

# NATS: a client without credentials is refused; with them it is accepted.
nats_says() {  # nats_says PORT CONNECT-JSON -> the server's answer to CONNECT + PING
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  head -c 1 <&3 > /dev/null  # INFO ...
  printf 'CONNECT %s\r\nPING\r\n' "$2" >&3
  timeout 3 cat <&3 | tr -d '\r' | grep -m1 -E 'PONG|-ERR' || true
  exec 3<&-
}
pw="$(cat "$dir/nats.secret")"
[[ "$(nats_says $b '{"verbose":false}')" == *"Authorization Violation"* ]] || fail "NATS accepted a client without credentials"
[[ "$(nats_says $b '{"verbose":false,"user":"lineup","pass":"wrong"}')" == *"Authorization Violation"* ]] || fail "NATS accepted a wrong password"
[[ "$(nats_says $b "{\"verbose\":false,\"user\":\"lineup\",\"pass\":\"$pw\"}")" == PONG ]] || fail "NATS refused the right password"

# JetStream: one meta group over the three servers, with a leader.
# (The peers appear in a server's view within seconds of the leader's election.)
for t in $(seq 1 40); do
  jsz="$(curl -sf "http://127.0.0.1:$((b + 20))/jsz")"
  [ "$(grep -o '"name": *"n[1-3]"' <<< "$jsz" | sort -u | wc -l)" -ge 2 ] && break
  sleep 0.5
done
grep -q '"leader": *"n[1-3]"' <<< "$jsz" || fail "no JetStream meta leader: $jsz"
[ "$(grep -o '"name": *"n[1-3]"' <<< "$jsz" | sort -u | wc -l)" -ge 2 ] || fail "the meta group does not list the other servers: $jsz"

# PostgreSQL: a wrong password is refused; the right one reaches the lineup database.
if PGPASSWORD=wrong psql -h 127.0.0.1 -p $((b + 30)) -U lineup -d lineup -tAc 'select 1' 2>/dev/null; then
  fail "PostgreSQL accepted a wrong password"
fi
[ "$(psql "$LINEUP_CATALOG" -tAc 'select current_database()')" = lineup ] || fail "no lineup database"

# One NATS server killed: the other two stay healthy; restarted, it rejoins.
cluster kill-nats 2
sleep 1
if cluster status > "$work/status.txt"; then fail "status said healthy with a server down"; fi
grep -q 'nats 2  down' "$work/status.txt" || fail "status did not show server 2 down"
for k in 1 3; do
  curl -sf "http://127.0.0.1:$((b + 20 + k - 1))/healthz" | grep -q ok || fail "server $k unhealthy after server 2 died"
done
cluster start-nats 2
cluster status

cluster down
[ ! -e "$dir" ] || fail "down left $dir"
for p in $b $((b + 1)) $((b + 2)) $((b + 30)); do
  ss -ltnH "sport = :$p" | grep -q . && fail "port $p still open after down"
done
echo "cluster services: ok"
