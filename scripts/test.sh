#!/usr/bin/env bash
# Builds omnihost and runs every test: the README's second command.
#   bash scripts/test.sh            # build in ./build and run ctest
#   OMNI_BUILD_DIR=/tmp/b bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

build_dir=${OMNI_BUILD_DIR:-build}
# ccache across clean builds; the sloppiness lets it cache translation units that use the
# precompiled LibTorch header.
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}
# Paths relative to the checkout, so a fresh clone elsewhere reuses the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

# install-deps.sh provided node and npm: the npm tokenizer comparison must run, not skip.
export OMNI_REQUIRE_NPM_TEST=1

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${OMNI_CMAKE_ARGS:-}
cmake --build "$build_dir" -j "$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure
