#!/usr/bin/env bash
# omnihost's Flux transformer beside diffusers' (with PEFT LoRA) at the `small` preset, on the
# same torch: bench_flux_transformer from the CUDA build (which links the LibTorch of the
# project's Python environment) and bench/diffusers_flux_small.py in that environment, at
# equal threads, fp32 then bf16, back to back. Run by hand on a quiet machine; the figures go
# into docs/performance.md.
#   bash scripts/bench-vs-diffusers.sh [THREADS]     (build: $OMNI_CUDA_BUILD_DIR, else build-cuda)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
build=${OMNI_CUDA_BUILD_DIR:-build-cuda}
venv=$(bash scripts/python-env.sh "${OMNI_VENV:-build/ci-cache/venv}")
[ -x "$build/bin/bench_flux_transformer" ] ||
  { echo "bench-vs-diffusers: build $build first (scripts/test-cuda-build.sh)" >&2; exit 1; }
for dtype in fp32 bf16; do
  echo "=== $dtype, $threads threads"
  ours=$("$build/bin/bench_flux_transformer" small --dtype "$dtype" --threads "$threads")
  echo "$ours"
  forward=$(sed -n 's/.*FLOPs per step: forward \([0-9.e+]*\),.*/\1/p' <<< "$ours")
  train=$(sed -n 's/.*forward+backward \([0-9.e+]*\);.*/\1/p' <<< "$ours")
  "$venv/bin/python" bench/diffusers_flux_small.py --threads "$threads" --dtype "$dtype" \
    --flops-forward "$forward" --flops-train "$train"
done
