#!/usr/bin/env bash
# The GPU check: on a Linux machine with an NVIDIA GPU, a pip torch with CUDA and no network,
# builds omnihost with CUDA (or takes a prebuilt folder), runs the tests that accept a device on
# cuda, then the benchmarks, and prints one table: step time, tokens/s, MFU, peak memory.
#
#   bash scripts/gpu-check.sh [--prebuilt DIR] [--python PYTHON] [--skip-tests]
#
# From source it needs a C++17 compiler, CMake >= 3.22 and Ninja; the dependency sources come
# from ./deps-sources (bash scripts/fetch-deps-sources.sh deps-sources, on a machine with
# internet) when the system lacks them. --prebuilt DIR runs what scripts/pack-prebuilt.sh packed
# (same torch and CUDA major version) and compiles nothing, so the GPU minutes go to measuring.
# On a machine without a GPU it stops at once with a one-line reason.
set -euo pipefail
cd "$(dirname "$0")/.."
prebuilt="" python=python3 run_tests=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prebuilt) prebuilt=${2:?--prebuilt needs a folder}; shift 2 ;;
    --python) python=${2:?--python needs an interpreter}; shift 2 ;;
    --skip-tests) run_tests=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

refuse() { echo "gpu-check: $*" >&2; exit 1; }

# The GPU first, before anything slow: no compiler error on a machine that cannot run this.
if ! command -v nvidia-smi > /dev/null 2>&1; then
  refuse "no NVIDIA GPU here (nvidia-smi is not installed); run this on a machine with one"
fi
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null | head -n 1 || true)
[ -n "$gpu_name" ] || refuse "no NVIDIA GPU here (nvidia-smi lists none); run this on a machine with one"
torch_dir=$("$python" -c 'import os, torch; assert torch.cuda.is_available(), "CUDA unavailable"; print(os.path.dirname(torch.__file__))' 2> /dev/null) ||
  refuse "$python has no torch that sees the GPU (import torch; torch.cuda.is_available())"
torch_version=$("$python" -c 'import torch; print(torch.__version__)')
cores=$(nproc)
started=$(date +%s)
echo "gpu-check: $gpu_name, torch $torch_version ($torch_dir), $cores cores"

work=$(mktemp -d /tmp/omnihost-gpu-check.XXXXXX)
if [ -n "$prebuilt" ]; then
  [ -x "$prebuilt/bin/omnihost" ] || refuse "$prebuilt holds no bin/omnihost (see scripts/pack-prebuilt.sh)"
  root=$(cd "$prebuilt" && pwd)
  # The packed binaries' RPATHs look in torch/lib beside them: the torch of this Python.
  ln -sfn "$torch_dir" "$root/torch"
  bin=$root/bin
  test_plugins=$root/test_plugins
  fixtures_unpacked=$work/fixtures
  mkdir -p "$fixtures_unpacked/text/qwen_real_vocab"
  tar -xJf tests/fixtures/text/qwen_real_vocab/tokenizer.json.tar.xz -C "$fixtures_unpacked/text/qwen_real_vocab"
  for configuration in flux pad_bang; do
    folder=$fixtures_unpacked/text/clip_real_vocab/$configuration
    mkdir -p "$folder"
    tar -xJf tests/fixtures/text/clip_real_vocab/vocab.tar.xz -C "$folder"
    cp "tests/fixtures/text/clip_real_vocab/$configuration/tokenizer_config.json" "$folder/"
  done
  echo "gpu-check: prebuilt binaries from $root"
else
  build=build-gpu-check
  deps_args=()
  [ -d deps-sources ] && deps_args=(-DOMNI_DEPS_SOURCE_DIR="$PWD/deps-sources")
  # No ccache (a fresh machine has none to hit), Release, every core, only what runs below.
  CCACHE_DISABLE=1 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER_LAUNCHER= "${deps_args[@]}" \
    -DCMAKE_PREFIX_PATH="$torch_dir;$torch_dir/share/cmake" > "$work/configure.log" ||
    { tail -n 30 "$work/configure.log"; refuse "configuring failed (log above)"; }
  CCACHE_DISABLE=1 cmake --build "$build" -j "$cores" --target omni_tests bench_flux_transformer bench_qwen_vl
  bin=$PWD/$build/bin
  test_plugins=$PWD/$build/test_plugins
  fixtures_unpacked=$PWD/$build/fixtures
  echo "gpu-check: built in $(( $(date +%s) - started )) s"
fi

declare -a rows=()
tests_result="not run"
if [ "$run_tests" -eq 1 ]; then
  # The suites whose tests accept a device run on cuda (OMNI_TEST_DEVICE); the rest of the
  # suite is the CPU's and runs in CI.
  if OMNI_TEST_DEVICE=cuda OMNI_TEST_HOST_EXE="$bin/omnihost" \
     OMNI_TEST_PLUGIN_DIR="$(dirname "$bin")/lib/omnihost/plugins" \
     OMNI_TEST_TEST_PLUGIN_DIR="$test_plugins" OMNI_TEST_SOURCE_DIR="$PWD" \
     OMNI_TEST_FIXTURES_DIR="$PWD/tests/fixtures" OMNI_TEST_UNPACKED_FIXTURES_DIR="$fixtures_unpacked" \
     "$bin/omni_tests" --test-suite=cuda_runtime,flux_transformer,flux_vae,text_encoders \
       --no-intro > "$work/tests.log" 2>&1; then
    tests_result="passed ($(grep -o '[0-9]* passed' "$work/tests.log" | tail -n 1) assertions)"
  else
    tail -n 40 "$work/tests.log"
    tests_result="FAILED (log above)"
  fi
  echo "gpu-check: tests on cuda: $tests_result"
fi

# Each benchmark ends with a line "result: step_s=... tokens_per_s=... mfu=... peak_gib=...".
run_bench() {  # LABEL COMMAND...
  local label=$1 log=$work/bench-${#rows[@]}.log
  shift
  echo "gpu-check: $label: $*"
  if timeout 240 "$@" > "$log" 2>&1; then
    local result
    result=$(grep '^result:' "$log" | tail -n 1)
    rows+=("$label|$(sed -n 's/.*step_s=\([^ ]*\).*/\1/p' <<< "$result")|$(sed -n 's/.*tokens_per_s=\([^ ]*\).*/\1/p' <<< "$result")|$(sed -n 's/.*mfu=\([^ ]*\).*/\1/p' <<< "$result")|$(sed -n 's/.*peak_gib=\([^ ]*\).*/\1/p' <<< "$result")")
  else
    tail -n 5 "$log"
    rows+=("$label|failed: $(grep -m1 -io 'out of memory\|error.*' "$log" | head -c 60)|||")
  fi
}
run_bench "Flux full, bf16, LoRA step, checkpointing" \
  "$bin/bench_flux_transformer" full --device cuda --dtype bf16 --iters 5
run_bench "Flux full, bf16, LoRA step, no checkpointing" \
  "$bin/bench_flux_transformer" full --device cuda --dtype bf16 --iters 5 --no-checkpointing
run_bench "Qwen2.5-VL 7B, bf16, decoding" \
  "$bin/bench_qwen_vl" --preset 7b --device cuda --dtype bf16

echo
echo "gpu-check on $gpu_name (torch $torch_version), $(( $(date +%s) - started )) s; tests: $tests_result"
printf '%-46s %12s %12s %8s %12s\n' "benchmark" "step (s)" "tokens/s" "MFU" "peak (GiB)"
for row in "${rows[@]}"; do
  IFS='|' read -r label step tokens mfu peak <<< "$row"
  printf '%-46s %12s %12s %8s %12s\n' "$label" "$step" "$tokens" "$mfu" "$peak"
done
echo "(MFU: model FLOPs per second over the GPU's dense bf16 peak; step: Flux forward+backward of the"
echo " LoRA step, Qwen one decoded token; peak: the CUDA caching allocator's peak allocation)"
rm -rf "$work"
[ "$tests_result" != "FAILED (log above)" ]
