#!/usr/bin/env bash
# The build GPU users have: every target compiled against PyPI's torch 2.11.0 (CUDA 13, the
# build the lent GPU machines run) with nvcc 13.0, every other library from its pinned source
# (so the binaries need nothing from this machine but glibc and that torch). Then the whole
# test suite on the CPU with that build (a test that needs a GPU says so and skips), a check
# that the Flux plugin links libtorch_cuda.so, and the Python references regenerating the
# committed tokenizer cases in the same environment, byte for byte.
#   bash scripts/test-cuda-build.sh       (build folder: $OMNI_CUDA_BUILD_DIR, else build-cuda)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${OMNI_CUDA_BUILD_DIR:-build-cuda}
cache=${OMNI_CI_CACHE:-$PWD/build/ci-cache}
export OMNI_PIP_CACHE=${OMNI_PIP_CACHE:-$cache/pip}
source scripts/ccache-env.sh

bash scripts/install-deps.sh python3-venv > /dev/null
if ! command -v nvcc > /dev/null; then
  if [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH=/usr/local/cuda/bin:$PATH
  else
    echo "test-cuda-build: nvcc (CUDA toolkit 13) not found on PATH or in /usr/local/cuda" >&2
    exit 1
  fi
fi
venv=$(bash scripts/python-env.sh "${OMNI_VENV:-$cache/venv}")
deps=${OMNI_DEPS_SOURCE_DIR:-$cache/deps-sources}
bash scripts/fetch-deps-sources.sh "$deps"
echo "test-cuda-build: torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)'), $(nvcc --version | tail -1)"

mkdir -p "$build"
if ! cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DOMNI_DEPENDENCIES=source -DOMNI_DEPS_SOURCE_DIR="$deps" \
    -DCMAKE_PREFIX_PATH="$(bash scripts/torch-prefix-path.sh "$venv/bin/python")" \
    > "$build/configure.log" 2>&1; then
  cat "$build/configure.log"
  exit 1
fi
grep "omnihost dependencies" "$build/configure.log"
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"

plugin=$build/lib/omnihost/plugins/flux_kontext.so
if ! ldd "$plugin" | grep -q 'libtorch_cuda\.so'; then
  echo "test-cuda-build: $plugin does not link libtorch_cuda.so:" >&2
  ldd "$plugin" >&2
  exit 1
fi
echo "test-cuda-build: $plugin links $(ldd "$plugin" | awk '/libtorch_cuda\.so/ {print $3; exit}')"

# The committed reference encodings are what the pinned Python libraries give.
export HF_HUB_OFFLINE=1
qwen=tests/fixtures/text/qwen_real_vocab
clip=tests/fixtures/text/clip_real_vocab
"$venv/bin/python" "$qwen/make_tokenizers_cases.py" "$build/fixtures/text/qwen_real_vocab/tokenizer.json" \
  "$build/cases_tokenizers.json" --check "$qwen/cases_tokenizers.json"
"$venv/bin/python" "$clip/make_clip_cases.py" "$build/clip_cases" --check "$clip" 2> /dev/null

# What a GPU machine runs without compiling (scripts/gpu-check.sh --prebuilt).
bash scripts/pack-prebuilt.sh "$build" "$build/prebuilt"
