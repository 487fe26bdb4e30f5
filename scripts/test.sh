#!/usr/bin/env bash
# Builds omnihost and runs every test: the README's second command.
#   bash scripts/test.sh            # build in ./build and run ctest
#   OMNI_BUILD_DIR=/tmp/b bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

build_dir=${OMNI_BUILD_DIR:-build}
source scripts/ccache-env.sh

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release ${OMNI_CMAKE_ARGS:-}
cmake --build "$build_dir" -j "$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)"
