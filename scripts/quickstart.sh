#!/usr/bin/env bash
# The README's first command: installs what is needed, builds, installs omnihost into
# ./build/install, builds the out-of-tree example plugin against that installed SDK and runs
# its job with the installed host.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}
# Paths relative to the checkout, so a fresh clone elsewhere reuses the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

prefix="$PWD/build/install"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)"
cmake --install build --prefix "$prefix" > /dev/null

# A plugin written out of tree, exactly as a third party would: find_package(OmniSDK).
cmake -S examples/toy_regression -B build/example -G Ninja -DCMAKE_PREFIX_PATH="$prefix"
cmake --build build/example -j "$(nproc)"
cmake --install build/example --prefix "$prefix" > /dev/null

"$prefix/bin/omnihost" plugins
"$prefix/bin/omnihost" run examples/toy_regression/config.yaml "$@"
