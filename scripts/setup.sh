#!/usr/bin/env bash
# Installs the Debian packages Lineup builds with (only those missing), then fetches
# the pinned models and sample photos. Run by `make demo`, `make test` and `make bench`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pkgs=(cmake g++ make pkg-config zlib1g-dev libjpeg-dev libssl-dev nlohmann-json3-dev
      libopencv-core-dev libopencv-dnn-dev libopencv-imgcodecs-dev libopencv-imgproc-dev
      libfaiss-dev libopenblas0-pthread libsqlite3-dev libexif-dev libgtest-dev libgmock-dev libbenchmark-dev
      libcpp-httplib-dev libsodium-dev libigraph-dev libcairo2-dev libpango1.0-dev libarchive-dev fonts-dejavu-core
      poppler-utils unzip chromium chromium-driver clang libclang-rt-14-dev curl openssl
      nats-server libnats-dev postgresql-15 libpq-dev libpqxx-dev iproute2
      libdnnl-dev libonnx-dev libprotobuf-dev)
# nats-server, libnats-dev, postgresql-15, libpq-dev and libpqxx-dev: the cluster's
# shared services and their client libraries (scripts/cluster.sh, issue 19); iproute2's
# ss lets the cluster test check that everything listens on 127.0.0.1 only.
# libdnnl-dev (oneDNN) runs the three networks (--engine dnnl); libonnx-dev and
# libprotobuf-dev read the ONNX files for it (docs/engine.md).
# libcairo2-dev, libpango1.0-dev and fonts-dejavu-core draw the evidence report's PDF,
# libarchive-dev zips a bundle for download (src/evidence/); poppler-utils' pdftotext
# lets the tests read the PDF back, and unzip opens the downloaded bundle in tests/e2e.
# libigraph-dev: graph clustering of faces into persons and the co-appearance network
# (GPL-2.0-or-later; see LICENSE).
# chromium and chromium-driver run the web console's end-to-end tests (tests/e2e); clang and
# its runtime build the request fuzzer (tests/fuzz).
# libopenblas0-pthread replaces the reference BLAS that libfaiss-dev pulls in (through
# update-alternatives): FAISS's k-means, PQ training and batched searches run on BLAS,
# measured 18x faster with OpenBLAS here (k-means, 65536x512 to 1024 centroids: 4.4 s
# against 80 s with the reference BLAS; docs/benchmarks.md).
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
"$root/scripts/fetch_models.sh"
# playwright-core for the console's end-to-end test (pinned in tests/e2e/package-lock.json;
# no install scripts, no browser download: the test drives Debian's chromium).
if [ ! -d "$root/tests/e2e/node_modules/playwright-core" ]; then
  echo "setup: installing playwright-core for tests/e2e"
  npm ci --ignore-scripts --no-audit --no-fund --prefix "$root/tests/e2e" >/dev/null
fi
