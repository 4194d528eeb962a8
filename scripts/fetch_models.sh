#!/usr/bin/env bash
# Fetches the pinned npm packages with `npm pack` (no install scripts run), checks
# their SHA-256 sums against scripts/models.sha256, and installs the model files into
# models/ and the demo photos into samples/. Safe to run again: files already in place
# with the right sum are kept.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pins="$root/scripts/models.sha256"
models="$root/models"
samples="$root/samples"
mkdir -p "$models" "$samples"

sum_of() { sha256sum "$1" | cut -d' ' -f1; }
want_file_sum() { awk -v f="$1" '$2 == f { print $1 }' "$pins"; }
want_pkg_sum() { awk -v p="$1" '$1 == "package" && $2 == p { print $3 }' "$pins"; }

all_models_ok() {
  local f
  for f in $(awk '$1 != "#" && $1 != "package" && NF == 2 { print $2 }' "$pins"); do
    [ -f "$models/$f" ] && [ "$(sum_of "$models/$f")" = "$(want_file_sum "$f")" ] || return 1
  done
}

fetch_pkg() {  # fetch_pkg NAME@VERSION DIR -> unpacked package in DIR/package
  local spec="$1" dir="$2" tgz
  tgz=$(cd "$dir" && npm pack --silent --ignore-scripts "$spec" | tail -n 1)
  local got want
  got=$(sum_of "$dir/$tgz"); want=$(want_pkg_sum "$spec")
  if [ "$got" != "$want" ]; then
    echo "fetch_models: $spec: SHA-256 $got does not match the pinned $want" >&2
    exit 1
  fi
  tar xzf "$dir/$tgz" -C "$dir"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if all_models_ok; then
  echo "models: in place and verified ($models)"
else
  echo "models: fetching faceplugin-face-recognition-js@0.0.1 with npm pack"
  mkdir -p "$tmp/fr"
  fetch_pkg faceplugin-face-recognition-js@0.0.1 "$tmp/fr"
  for f in $(awk '$1 != "#" && $1 != "package" && NF == 2 { print $2 }' "$pins"); do
    cp "$tmp/fr/package/model/$f" "$models/$f.part"
    if [ "$(sum_of "$models/$f.part")" != "$(want_file_sum "$f")" ]; then
      echo "fetch_models: $f: SHA-256 does not match the pin" >&2; exit 1
    fi
    mv "$models/$f.part" "$models/$f"
  done
  cp "$tmp/fr/package/LICENSE" "$models/LICENSE.faceplugin"
  echo "models: installed and verified in $models"
fi

if [ -f "$samples/sample6.jpg" ]; then
  echo "samples: in place ($samples)"
else
  echo "samples: fetching @vladmandic/face-api@1.7.15 demo photos with npm pack"
  mkdir -p "$tmp/fa"
  fetch_pkg @vladmandic/face-api@1.7.15 "$tmp/fa"
  cp "$tmp/fa/package/demo/"sample[1-6].jpg "$samples/"
  echo "samples: 6 photos in $samples"
fi
