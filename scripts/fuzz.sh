#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and either
# replays the committed corpora or fuzzes.
#   bash scripts/fuzz.sh replay                 # every corpus input once: CI's check
#   bash scripts/fuzz.sh run SECONDS [TARGET..] # fuzz each target (all by default) for SECONDS,
#                                               # then fold new coverage into fuzz/corpus/
# A crash stops the run with the input saved as fuzz/corpus/<target>/crash-<sha1>: fix the bug,
# keep the file (the test suite replays it in every build), and run again.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-replay}
bash scripts/install-deps.sh clang libclang-rt-14-dev
source scripts/ccache-env.sh

build_dir=${OMNI_FUZZ_BUILD_DIR:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DOMNI_BUILD_FUZZERS=ON -DOMNI_BUILD_TESTS=OFF > /dev/null
cmake --build "$build_dir" --target fuzzers -j "$(nproc)"

all_targets=(safetensors config_yaml image_file clip_tokenizer_files qwen_tokenizer_json
             model_config_json dataset_manifest)
corpus_of() {  # the safetensors corpus predates fuzz/corpus and stays with its test data
  if [ "$1" = safetensors ]; then echo tests/data/safetensors_corpus; else echo "fuzz/corpus/$1"; fi
}
dictionary_of() { [ -f "fuzz/$1.dict" ] && echo "-dict=fuzz/$1.dict" || true; }
# 4 GB: the fuzzers load LibTorch (~330 MB); an input that makes a parser allocate more than
# this is a bug (a size taken from a header unchecked), reported as a crash.
common=(-rss_limit_mb=4096 -malloc_limit_mb=2048 -timeout=20)

case "$mode" in
  replay)
    for target in "${all_targets[@]}"; do
      corpus=$(corpus_of "$target")
      echo "fuzz replay: $target ($(ls "$corpus" | wc -l) inputs)"
      # -runs=0 executes every input once; a crash or sanitizer report exits non-zero.
      if ! output=$("$build_dir/bin/${target}_fuzzer" "${common[@]}" -runs=0 "$corpus" 2>&1); then
        echo "$output" | tail -40
        echo "fuzz replay: $target failed on a corpus input (above)"
        exit 1
      fi
      echo "$output" | grep -E "INITED|Done" | sed 's/^/  /'
    done
    echo "fuzz replay: every corpus input ran clean under ASan + UBSan"
    ;;
  run)
    seconds=${2:?usage: fuzz.sh run SECONDS [TARGET...]}
    shift 2
    targets=("$@")
    [ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
    work=$(mktemp -d /tmp/omnihost-fuzz.XXXXXX)
    for target in "${targets[@]}"; do
      corpus=$(corpus_of "$target")
      mkdir -p "$work/$target"
      echo "fuzz run: $target for $seconds s"
      # New inputs go to a scratch corpus; the committed one is read only.
      "$build_dir/bin/${target}_fuzzer" "${common[@]}" $(dictionary_of "$target") \
        -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$corpus/" \
        "$work/$target" "$corpus" > "$work/$target.log" 2>&1 || true
      # Coverage at the start, at each doubling of executions, and at the end: where it stops
      # growing, longer runs find little more.
      grep -E "INITED|pulse|DONE" "$work/$target.log" | sed -E 's/^/  /; s/ (lim|MS|L):.*//'
      if grep -q "ERROR\|SUMMARY\|deadly signal\|uncaught exception" "$work/$target.log"; then
        echo "fuzz run: $target found a failure; the input is under $corpus/"; exit 1
      fi
      # Keep only inputs that add coverage (edges; counters would keep thousands).
      "$build_dir/bin/${target}_fuzzer" "${common[@]}" -merge=1 -use_counters=0 \
        "$corpus" "$work/$target" 2>&1 | grep -E "MERGE-OUTER: [0-9]+ new files" || true
    done
    rm -rf "$work"
    ;;
  *) echo "usage: fuzz.sh replay | run SECONDS [TARGET...]" >&2; exit 2 ;;
esac
