#!/usr/bin/env bash
# A Lineup cluster's shared services on this machine, for tests and demos (issue 19):
# a 3-server NATS cluster with JetStream (so streams can be replicated 3 times) and a
# PostgreSQL 15 instance in a temporary directory, all on 127.0.0.1 and all refusing
# clients without credentials.
#
#   scripts/cluster.sh up [--nodes N] [--shards S] [--dir DIR]
#                                         start everything; returns once NATS has a
#                                         JetStream meta leader, PostgreSQL answers and
#                                         the N shard nodes (default 3; node K keeps a
#                                         replica of shard K mod S, default S 2) serve;
#                                         writes DIR/env (default out/cluster/env):
#                                           LINEUP_CLUSTER=nats://USER:PASS@127.0.0.1:P1,...
#                                           LINEUP_CATALOG=postgresql://USER:PASS@127.0.0.1:P/lineup
#                                           LINEUP_SHARDS=S
#   scripts/cluster.sh status [--dir DIR] each process, its pid and health
#   scripts/cluster.sh kill-node K        SIGKILL shard node K (0 .. N-1)
#   scripts/cluster.sh start-node K       start shard node K again (it catches up first)
#   scripts/cluster.sh kill-nats K        SIGKILL NATS server K (1-3)
#   scripts/cluster.sh start-nats K       start NATS server K again (it rejoins the cluster)
#   scripts/cluster.sh down [--dir DIR]   stop everything and delete DIR
#
# Nodes run `lineup node serve` from LINEUP_BIN (default build/release/lineup), each with
# its gallery in DIR/nodeK and its log in DIR/nodeK.log.
# Ports: CLUSTER_PORT_BASE (default 14222): NATS clients BASE+0..2, routes BASE+10..12,
# monitoring BASE+20..22, PostgreSQL BASE+30. Passwords are random per `up`, kept in DIR
# (mode 0600). PostgreSQL does not run as root: as root the script runs it as the
# `postgres` user (Debian's postgresql-15 package creates it).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
die() { echo "cluster: $*" >&2; exit 1; }

cmd="${1:-}"
[ -n "$cmd" ] || die "usage: scripts/cluster.sh up [--nodes N] [--shards S]|status|down|kill-node K|start-node K|kill-nats K|start-nats K [--dir DIR]"
shift
arg=""
case "$cmd" in kill-nats|start-nats|kill-node|start-node) arg="${1:-}"; [ -n "$arg" ] && shift ;; esac
dir="$root/out/cluster"
nodes=3
shards=2
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || die "--dir needs a folder"; dir="$2"; shift 2 ;;
    --nodes) [[ "${2:-}" =~ ^[0-9]+$ ]] || die "--nodes needs a number"; nodes="$2"; shift 2 ;;
    --shards) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die "--shards needs a number >= 1"; shards="$2"; shift 2 ;;
    *) die "unknown argument: $1" ;;
  esac
done
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
base="${CLUSTER_PORT_BASE:-14222}"
[[ "$base" =~ ^[0-9]+$ ]] && [ "$base" -ge 1024 ] && [ "$base" -le 65000 ] || die "CLUSTER_PORT_BASE must be a port number 1024-65000"
pgbin=/usr/lib/postgresql/15/bin
lineup_bin="${LINEUP_BIN:-$root/build/release/lineup}"

nats_port() { echo $((base + $1 - 1)); }
route_port() { echo $((base + 10 + $1 - 1)); }
http_port() { echo $((base + 20 + $1 - 1)); }
pg_port() { echo $((base + 30)); }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A process that is running (not a zombie: killed children of an exited shell may wait
# for a parent that never reaps them).
pid_alive() {
  [ -f "$1" ] || return 1
  local pid state
  pid="$(cat "$1")"
  state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
secret() { head -c 18 /dev/urandom | base64 | tr -d '/+=' ; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# The config of NATS server K (1-3): one account for Lineup with JetStream, a system
# account, route credentials, and no user without a password.
write_nats_conf() {
  local k="$1" routes="" j
  for j in 1 2 3; do
    [ "$j" = "$k" ] && continue
    routes+="    nats-route://route:$(cat "$dir/route.secret")@127.0.0.1:$(route_port "$j")"$'\n'
  done
  cat > "$dir/nats$k.conf" <<EOF
server_name: n$k
listen: 127.0.0.1:$(nats_port "$k")
http: 127.0.0.1:$(http_port "$k")
pid_file: "$dir/nats$k.pid"
jetstream {
  store_dir: "$dir/nats$k"
  max_memory_store: 256MB
  max_file_store: 4GB
}
accounts {
  LINEUP {
    jetstream: enabled
    users: [ { user: lineup, password: "$(cat "$dir/nats.secret")" } ]
  }
  SYS {
    users: [ { user: sys, password: "$(cat "$dir/sys.secret")" } ]
  }
}
system_account: SYS
cluster {
  name: lineup
  listen: 127.0.0.1:$(route_port "$k")
  authorization { user: route, password: "$(cat "$dir/route.secret")" }
  routes: [
$routes  ]
}
EOF
  chmod 600 "$dir/nats$k.conf"
}

start_nats() {
  local k="$1"
  pid_alive "$dir/nats$k.pid" && return 0
  port_free "$(nats_port "$k")" || die "port $(nats_port "$k") is in use (set CLUSTER_PORT_BASE)"
  nats-server -c "$dir/nats$k.conf" >> "$dir/nats$k.log" 2>&1 &
  echo $! > "$dir/nats$k.pid"
}

# Waits until every live NATS server says JetStream is healthy (a meta leader exists).
wait_nats() {
  local k ok t
  for t in $(seq 1 120); do
    ok=1
    for k in 1 2 3; do
      pid_alive "$dir/nats$k.pid" || continue
      curl -sf "http://127.0.0.1:$(http_port "$k")/healthz" 2>/dev/null | grep -q '"ok"' || ok=0
    done
    # ...and the JetStream meta group has elected its leader (stream requests need it).
    if [ "$ok" = 1 ]; then
      for k in 1 2 3; do
        pid_alive "$dir/nats$k.pid" || continue
        curl -sf "http://127.0.0.1:$(http_port "$k")/jsz" 2>/dev/null | grep -q '"leader": *"n[1-3]"' && return 0
      done
    fi
    sleep 0.5
  done
  return 1
}

start_node() {
  local k="$1" s
  pid_alive "$dir/node$k.pid" && return 0
  s="$(cat "$dir/shards")"
  (set -a; . "$dir/env"; set +a
   exec "$lineup_bin" node serve --shard $((k % s)) --shards "$s" --dir "$dir/node$k") >> "$dir/node$k.log" 2>&1 &
  echo $! > "$dir/node$k.pid"
}

# Waits until node K says it serves (after its catch-up), or fails.
wait_node() {
  local k="$1" t
  for t in $(seq 1 240); do
    pid_alive "$dir/node$k.pid" || { tail -3 "$dir/node$k.log" >&2; return 1; }
    [ "$(grep -c 'serving searches' "$dir/node$k.log" 2>/dev/null)" -ge "$(cat "$dir/node$k.starts")" ] && return 0
    sleep 0.5
  done
  return 1
}

launch_node() {
  local k="$1" n
  n=$(( $(cat "$dir/node$k.starts" 2>/dev/null || echo 0) + 1 ))
  echo "$n" > "$dir/node$k.starts"
  start_node "$k"
  wait_node "$k"
}

up() {
  command -v nats-server >/dev/null || die "nats-server is missing: run scripts/setup.sh"
  [ -x "$pgbin/initdb" ] || die "PostgreSQL 15 is missing ($pgbin): run scripts/setup.sh"
  command -v curl >/dev/null || die "curl is missing: run scripts/setup.sh"
  if [ -f "$dir/env" ]; then die "$dir already holds a cluster (scripts/cluster.sh down first)"; fi
  if [ "$nodes" -gt 0 ] && [ ! -x "$lineup_bin" ]; then die "$lineup_bin is missing: build first (make), or set LINEUP_BIN"; fi
  for p in "$(nats_port 1)" "$(nats_port 2)" "$(nats_port 3)" "$(route_port 1)" "$(route_port 2)" "$(route_port 3)" \
           "$(http_port 1)" "$(http_port 2)" "$(http_port 3)" "$(pg_port)"; do
    port_free "$p" || die "port $p on 127.0.0.1 is in use (another cluster? set CLUSTER_PORT_BASE)"
  done
  mkdir -p "$dir"
  chmod 700 "$dir"
  (umask 077; for s in nats sys route pg; do secret > "$dir/$s.secret"; done)
  local k
  for k in 1 2 3; do write_nats_conf "$k"; start_nats "$k"; done
  wait_nats || { tail -5 "$dir"/nats*.log >&2; down_quiet; die "NATS JetStream did not become healthy in 60 s"; }

  # PostgreSQL: owned by the user it runs as; scram passwords; 127.0.0.1 only.
  mkdir -p "$dir/pg" "$dir/pgsock"
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$dir/pg" "$dir/pgsock" && chmod 711 "$dir"
    runuser -u postgres -- test -w "$dir/pg" ||
      { down_quiet; die "the postgres user cannot reach $dir (a parent folder is closed to it): choose --dir elsewhere"; }
  fi
  (umask 077; cp "$dir/pg.secret" "$dir/pg/.pw")
  [ "$(id -u)" = 0 ] && chown postgres: "$dir/pg/.pw"
  as_pg "$pgbin/initdb" -D "$dir/pg/data" -U lineup --pwfile="$dir/pg/.pw" --auth=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 > "$dir/pg-initdb.log" 2>&1 || { cat "$dir/pg-initdb.log" >&2; down_quiet; die "initdb failed"; }
  rm -f "$dir/pg/.pw"
  as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/postgres.log" -w -t 60 \
    -o "-p $(pg_port) -k $dir/pgsock -c listen_addresses=127.0.0.1" start > /dev/null ||
    { tail -5 "$dir/pg/postgres.log" >&2; down_quiet; die "PostgreSQL did not start"; }
  PGPASSWORD="$(cat "$dir/pg.secret")" psql -q -h 127.0.0.1 -p "$(pg_port)" -U lineup -d postgres \
    -c "CREATE DATABASE lineup" > /dev/null || { down_quiet; die "could not create the lineup database"; }

  local urls="" pw
  pw="$(cat "$dir/nats.secret")"
  for k in 1 2 3; do urls+="${urls:+,}nats://lineup:$pw@127.0.0.1:$(nats_port "$k")"; done
  (umask 077; {
    echo "LINEUP_CLUSTER=$urls"
    echo "LINEUP_CATALOG=postgresql://lineup:$(cat "$dir/pg.secret")@127.0.0.1:$(pg_port)/lineup"
    echo "LINEUP_SHARDS=$shards"
  } > "$dir/env")
  echo "$shards" > "$dir/shards"
  for ((k = 0; k < nodes; k++)); do
    launch_node "$k" || { down_quiet; die "shard node $k did not start (see its log above)"; }
  done
  echo "cluster: up: NATS on 127.0.0.1:$(nats_port 1)-$(nats_port 3) (JetStream, 3 servers), PostgreSQL 15 on 127.0.0.1:$(pg_port), $nodes shard nodes over $shards shards; client settings in $dir/env"
}

status() {
  [ -d "$dir" ] || { echo "cluster: not running ($dir does not exist)"; return 1; }
  local k bad=0 h
  for k in 1 2 3; do
    if pid_alive "$dir/nats$k.pid"; then
      h="$(curl -s "http://127.0.0.1:$(http_port "$k")/healthz" 2>/dev/null || true)"
      printf 'nats %d  pid %-7s 127.0.0.1:%s  %s\n' "$k" "$(cat "$dir/nats$k.pid")" "$(nats_port "$k")" "${h:-no answer}"
    else
      printf 'nats %d  down\n' "$k"; bad=1
    fi
  done
  for f in "$dir"/node*.pid; do
    [ -e "$f" ] || continue
    k="${f##*/node}"; k="${k%.pid}"
    if pid_alive "$f"; then
      printf 'node %s  pid %-7s shard %s  %s\n' "$k" "$(cat "$f")" "$((k % $(cat "$dir/shards")))" \
        "$(grep 'node: shard' "$dir/node$k.log" | tail -1 | sed 's/^node: //')"
    else
      printf 'node %s  down\n' "$k"; bad=1
    fi
  done
  if [ -f "$dir/pg/data/postmaster.pid" ] && as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" status > /dev/null 2>&1; then
    printf 'postgresql  pid %-7s 127.0.0.1:%s  running\n' "$(head -1 "$dir/pg/data/postmaster.pid")" "$(pg_port)"
  else
    echo "postgresql  down"; bad=1
  fi
  return $bad
}

down_quiet() {
  local k f
  for f in "$dir"/node*.pid; do
    [ -e "$f" ] || continue
    pid_alive "$f" && kill "$(cat "$f")" 2>/dev/null
    for _ in $(seq 1 40); do pid_alive "$f" || break; sleep 0.25; done
    pid_alive "$f" && kill -9 "$(cat "$f")" 2>/dev/null
  done
  if [ -f "$dir/pg/data/postmaster.pid" ]; then
    as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -m fast -w -t 30 stop > /dev/null 2>&1 ||
      kill -9 "$(head -1 "$dir/pg/data/postmaster.pid")" 2>/dev/null || true
  fi
  for k in 1 2 3; do
    if pid_alive "$dir/nats$k.pid"; then
      local pid; pid="$(cat "$dir/nats$k.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do pid_alive "$dir/nats$k.pid" || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
}

case "$cmd" in
  up) up ;;
  down) down_quiet; echo "cluster: down" ;;
  status) status ;;
  kill-node)
    [[ "$arg" =~ ^[0-9]+$ ]] || die "kill-node needs a node number"
    pid_alive "$dir/node$arg.pid" || die "node $arg is not running"
    kill -9 "$(cat "$dir/node$arg.pid")"
    echo "cluster: node $arg killed" ;;
  start-node)
    [[ "$arg" =~ ^[0-9]+$ ]] || die "start-node needs a node number"
    [ -f "$dir/env" ] || die "no cluster in $dir"
    launch_node "$arg" || die "node $arg did not start"
    echo "cluster: node $arg started" ;;
  kill-nats)
    [[ "$arg" =~ ^[1-3]$ ]] || die "kill-nats needs a server number 1-3"
    pid_alive "$dir/nats$arg.pid" || die "NATS server $arg is not running"
    kill -9 "$(cat "$dir/nats$arg.pid")"
    echo "cluster: NATS server $arg killed" ;;
  start-nats)
    [[ "$arg" =~ ^[1-3]$ ]] || die "start-nats needs a server number 1-3"
    [ -f "$dir/nats$arg.conf" ] || die "no cluster in $dir"
    start_nats "$arg"
    wait_nats || die "NATS server $arg did not become healthy"
    echo "cluster: NATS server $arg started" ;;
  *) die "unknown command $cmd (up, status, down, kill-node K, start-node K, kill-nats K, start-nats K)" ;;
esac
