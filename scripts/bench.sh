#!/usr/bin/env bash
# Lineup's benchmarks, and the same pipeline on onnxruntime-node for comparison.
# `make bench` runs it as: scripts/bench.sh build/release
#
#   1. lineup_bench_pipeline   the first 1,000 LFW photos end to end (one pipeline per
#                              core, then one pipeline), plus single-pipeline latencies
#   2. lineup_bench_detection  recall/precision on dlib's labelled boxes, the crowd photo;
#                              drawings in out/bench/detection/
#   3. the onnxruntime-node peer (bench/peer/ort_pipeline.js: the same detection passes
#      and faces as Lineup's default, sharp/libvips decoding) on the same photo list, in
#      each configuration of PEER_CONFIGS; the best one is the peer
#   4. a comparison table (bench/compare.js): every peer configuration, then Lineup
#      beside the best peer, with the ratio Lineup / best peer
# Everything lands in out/bench/ (git-ignored). Takes about 5 minutes on 2 idle cores.
#
# Environment:
#   LINEUP_DATA     real-photo data (default ../shared/data next to the repository)
#   LINEUP_MODELS   model folder (default models/)
#   BENCH_PHOTOS    photos for the end-to-end runs (default 1000)
#   BENCH_THREADS   Lineup end-to-end runs, comma-separated pipeline counts (default "N,1", N = cores)
#   BENCH_MAX_LOAD  if set (e.g. 0.5), wait until the 1-minute load average is below it
#   BENCH_WAIT      ...for at most this many seconds (default 600), then run anyway
#   PEER_CONFIGS    the peer's configurations, space-separated WORKERSxTHREADS:OPT[:DECODER]
#                   (default: N workers of 1 thread at every optimisation level, 1 worker of N
#                   threads at "all" and "extended", and N workers decoding with jpeg-js)
set -euo pipefail

die() { echo "bench: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: scripts/bench.sh BUILD_DIR   (e.g. build/release; \`make bench\` does the build)"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$1"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
bin="$build/bench"

# Everything this needs, checked before anything runs.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
  die "node and npm are needed for the onnxruntime-node peer benchmark; install them (scripts/setup.sh does: apt-get install npm)"
for exe in lineup_bench_pipeline lineup_bench_detection; do
  [ -x "$bin/$exe" ] || die "$bin/$exe is missing: build first (\`make bench\`, or cmake --build $1)"
done
data="${LINEUP_DATA:-$root/../shared/data}"
[ -d "$data/lfw/images" ] || die "no LFW photos in $data/lfw/images (set LINEUP_DATA to the real-photo data folder)"
data="$(cd "$data" && pwd)"
models="${LINEUP_MODELS:-$root/models}"
for m in fr_detect.onnx fr_landmark.onnx fr_feature.onnx; do
  [ -f "$models/$m" ] || die "$models/$m is missing: run scripts/setup.sh (or \`make models\`)"
done
models="$(cd "$models" && pwd)"
photos="${BENCH_PHOTOS:-1000}"
cores="$(nproc 2>/dev/null || echo 2)"
threads="${BENCH_THREADS:-$cores,1}"
out="$root/out/bench"
mkdir -p "$out"

# The peer's packages: installed once, without running any package scripts.
peer="$root/bench/peer"
if [ ! -d "$peer/node_modules/onnxruntime-node" ] || [ ! -d "$peer/node_modules/jpeg-js" ] ||
   [ ! -d "$peer/node_modules/sharp" ]; then
  echo "bench: installing the peer's packages (npm ci in bench/peer)"
  (cd "$peer" && npm ci --ignore-scripts --silent) || die "npm ci failed in bench/peer"
fi
(cd "$peer" && node -e "require('onnxruntime-node'); require('jpeg-js'); require('sharp')") ||
  die "onnxruntime-node, jpeg-js or sharp does not load in bench/peer (delete bench/peer/node_modules and re-run)"

load1() { cut -d' ' -f1 /proc/loadavg; }
if [ -n "${BENCH_MAX_LOAD:-}" ]; then
  waited=0
  while awk -v l="$(load1)" -v m="$BENCH_MAX_LOAD" 'BEGIN { exit !(l >= m) }'; do
    if [ "$waited" -ge "${BENCH_WAIT:-600}" ]; then
      echo "bench: load average still $(load1) after ${waited}s; running anyway"
      break
    fi
    [ "$waited" -eq 0 ] && echo "bench: waiting for the load average ($(load1)) to fall below $BENCH_MAX_LOAD"
    sleep 15
    waited=$((waited + 15))
  done
fi

echo "== bench: $(date -u +%FT%TZ), $cores cores; uptime:$(uptime | sed 's/.*up/ up/')"

# The photo list: the first $photos LFW photos in byte order of their paths. The
# pipeline benchmark picks its own by the same rule; the two lists must agree.
list="$out/lfw_photos.txt"
find "$data/lfw/images" -mindepth 2 -maxdepth 2 -name '*.jpg' | LC_ALL=C sort | awk -v n="$photos" 'NR <= n' > "$list"
[ -s "$list" ] || die "no photos listed in $list"

echo
echo "== 1. pipeline: lineup_bench_pipeline --photos $photos --threads $threads"
"$bin/lineup_bench_pipeline" --data "$data" --models "$models" --photos "$photos" --threads "$threads" \
  --list-out "$out/lfw_photos.lineup.txt" --json "$out/pipeline.json" --benchmark_color=false
cmp -s "$list" "$out/lfw_photos.lineup.txt" ||
  die "the pipeline benchmark picked a different photo list than $list (compare with $out/lfw_photos.lineup.txt)"

echo
echo "== 2. detection: lineup_bench_detection   (uptime:$(uptime | sed 's/.*load/ load/'))"
rm -rf "$out/detection"
"$bin/lineup_bench_detection" --data "$data" --models "$models" --json "$out/detection.json" --draw "$out/detection"

configs="${PEER_CONFIGS:-${cores}x1:disabled ${cores}x1:basic ${cores}x1:extended ${cores}x1:all 1x${cores}:all 1x${cores}:extended ${cores}x1:all:jpeg-js}"
peer_jsons=()
for c in $configs; do
  IFS=: read -r wt opt decoder <<< "$c"
  workers="${wt%x*}"; intra="${wt#*x}"; decoder="${decoder:-sharp}"
  [[ "$workers" =~ ^[0-9]+$ && "$intra" =~ ^[0-9]+$ && -n "$opt" ]] || die "bad PEER_CONFIGS entry '$c' (want WORKERSxTHREADS:OPT[:DECODER])"
  echo
  echo "== 3. onnxruntime-node peer: $workers workers x $intra threads, --opt $opt, $decoder   (uptime:$(uptime | sed 's/.*load/ load/'))"
  json="$out/peer_${workers}x${intra}_${opt}_${decoder}.json"
  node "$peer/ort_pipeline.js" --models "$models" --list "$list" --workers "$workers" --threads "$intra" \
    --opt "$opt" --decoder "$decoder" --json "$json"
  peer_jsons+=("$json")
done

node "$root/bench/compare.js" "$out/pipeline.json" "${peer_jsons[@]}" --out "$out/comparison.json"
echo
echo "== bench done; uptime:$(uptime | sed 's/.*up/ up/'); results in $out"
