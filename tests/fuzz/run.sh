#!/usr/bin/env bash
# Builds the request fuzzer with clang's libFuzzer (ASan + UBSan) and runs it for a
# while from a seed corpus of real photos and JSON bodies. Run by ctest (fuzz_requests)
# for 30 s; longer by hand:  tests/fuzz/run.sh BUILD_DIR 600
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:?usage: run.sh BUILD_DIR [SECONDS]}"
secs="${2:-30}"
command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing (scripts/setup.sh installs it)" >&2; exit 1; }
mkdir -p "$out/fuzz"
bin="$out/fuzz/request_fuzzer"
srcs=("$root/tests/fuzz/request_fuzzer.cc" "$root/server/request.cc" "$root/src/util/status.cc" "$root/src/image/decode.cc"
      "$root/src/image/netpbm.cc" "$root/src/image/sun_raster.cc" "$root/src/image/radiance.cc" "$root/src/image/jpeg2000.cc")
if [ ! -x "$bin" ] || [ -n "$(find "${srcs[@]}" "$root/server/request.h" "$root/include/lineup/image.h" "$root/src/image/readers.h" -newer "$bin" 2>/dev/null)" ]; then
  echo "fuzz: building $bin"
  # shellcheck disable=SC2046
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$root/include" -I"$root/src" -I"$root/server" -I/usr/include/opencv4 $(pkg-config --cflags cpp-httplib) \
    "${srcs[@]}" -o "$bin" \
    $(pkg-config --libs cpp-httplib) -lssl -lcrypto -lopencv_imgcodecs -lopencv_imgproc -lopencv_core -lexif -ljpeg -lz
fi
corpus="$out/fuzz/corpus"
mkdir -p "$corpus"
# Seeds: each a mode byte then the input (0 JSON, 1 raw image, 2 multipart fields).
data="${LINEUP_DATA:-$root/../shared/data}"
i=0
for f in "$data"/deepface/img1.jpg "$data"/deepface/img47.jpg "$data"/face_recognition/examples/obama_small.jpg \
         "$root"/tests/data/*.png; do
  [ -f "$f" ] || continue
  { printf '\001'; head -c 200000 "$f"; } > "$corpus/seed-image-$i"; i=$((i + 1))
done
# Netpbm and Radiance headers, which the photos above do not cover.
printf '\001P5\n# c\n4 2\n255\n\001\002\003\004\005\006\007\010' > "$corpus/seed-image-pgm"
printf '\001P3 2 1 65535\n1 2 3 65535 0 7\n' > "$corpus/seed-image-plain-ppm"
printf '\001P7\nWIDTH 2\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n12345678' > "$corpus/seed-image-pam"
printf '\001#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 1 +X 2\n\200\100\040\201\200\100\040\201' > "$corpus/seed-image-hdr"
printf '\000{"title":"a","authority":"b","vector":[1,2,3,4,5,6,7,8],"note":"x"}' > "$corpus/seed-json-1"
printf '\000{"justification":"\\u0000","vector":[1e309,null,"x"]}' > "$corpus/seed-json-2"
printf '\002justification\000lead\000top\0005\000image\000GIF89a' > "$corpus/seed-form-1"
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len=300000 -print_final_stats=1 \
  "$corpus" 2>&1 | tail -n 25
