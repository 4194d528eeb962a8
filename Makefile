# Lineup's front door. `make demo` and `make test` work on a fresh Debian machine:
# each installs what is missing (scripts/setup.sh), builds, then runs.
JOBS    ?= 2
RELEASE := build/release
ASAN    := build/asan
LINEUP  := $(RELEASE)/lineup

.PHONY: all setup models build build-asan demo test test-release test-asan bench calibrate eval-lfw eval-ident clean

all: build

setup:
	@scripts/setup.sh

models:
	@scripts/fetch_models.sh

build: setup
	@cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(RELEASE) -j $(JOBS)

build-asan: setup
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLINEUP_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)

demo: build
	@scripts/demo.sh $(LINEUP)

# The whole suite, twice: the Release build, then under ASan+UBSan.
test: test-release test-asan

test-release: build
	@cd $(RELEASE) && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	@cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -L sanitize

bench: build
	@scripts/bench.sh $(RELEASE)

# Regenerates calibration/ from all LFW impostor pairs (and, for the default, searches
# measured per sex of the probe), for the default embedding, the
# same without its weight (the default until 2026-11-28), its flip setting, the fused two-model embedding and the RGB-fed settings of galleries made
# before 2026-11-27 (~50 min).
calibrate: build
	@$(LINEUP) calibrate --root $${LINEUP_DATA:-../shared/data}/lfw --groups $${LINEUP_DATA:-../shared/data}/lfw/groups_gender.tsv
	@$(LINEUP) calibrate --root $${LINEUP_DATA:-../shared/data}/lfw --embedder fr_feature
	@$(LINEUP) calibrate --root $${LINEUP_DATA:-../shared/data}/lfw --embedder fr_feature+flip
	@$(LINEUP) calibrate --root $${LINEUP_DATA:-../shared/data}/lfw --embedder fr_feature+faceapi
	@$(LINEUP) calibrate --root $${LINEUP_DATA:-../shared/data}/lfw --embedder fr_feature:rgb
	@$(LINEUP) calibrate --root $${LINEUP_DATA:-../shared/data}/lfw --embedder fr_feature+flip:rgb

eval-lfw: build
	@$(LINEUP) eval pairs --lfw-pairs $${LINEUP_DATA:-../shared/data}/lfw/pairs.txt \
	  --root $${LINEUP_DATA:-../shared/data}/lfw/images --report out/eval-lfw

# The open-set LFW 1:N protocol of ../shared/data/README.md (docs/accuracy.md, about 10 minutes).
eval-ident: build
	@$(LINEUP) eval ident --root $${LINEUP_DATA:-../shared/data}/lfw \
	  --identities $${LINEUP_DATA:-../shared/data}/lfw/identities.tsv --report out/eval-ident

# The gallery index on synthetic faces shaped like LFW's (bench/lfw_spectra.json) at 1M and
# 10M faces: build time, RAM and disk per face, p50/p99 latency, recall and mates found
# against exact search (docs/benchmarks.md). FACES=N runs one size. 10M needs ~22 GB of
# scratch disk under $TMPDIR (or /tmp) and 45-90 minutes (1M: 8 minutes).
FACES ?= 1000000 10000000
.PHONY: bench-scale bench-load
# The service under load (docs/benchmarks.md): FACES=100000 LOAD_SECONDS=180 by default.
bench-load: build
	@scripts/load_test.sh

bench-scale: build
	@mkdir -p out/bench
	@for n in $(FACES); do \
	  if [ $$((n % 1000000)) -eq 0 ]; then size=$$((n / 1000000))m; \
	  elif [ $$((n % 1000)) -eq 0 ]; then size=$$((n / 1000))k; else size=$$n; fi; \
	  $(LINEUP) bench scale --faces $$n --queries 1000 --json out/bench/scale_$$size.json || exit $$?; \
	done

clean:
	rm -rf build
