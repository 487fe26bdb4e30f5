#!/usr/bin/env bash
# Builds the out-of-tree example plugin (examples/toy_regression) against the SDK installed in
# ./build/install (by scripts/quickstart.sh), exactly as a third party would with
# find_package(OmniSDK), and runs its job with the installed host.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="$PWD/build/install"
if [ ! -x "$prefix/bin/omnihost" ]; then
  echo "example-plugin: no installed omnihost in $prefix; run scripts/quickstart.sh first" >&2
  exit 1
fi
cmake -S examples/toy_regression -B build/example -G Ninja -DCMAKE_PREFIX_PATH="$prefix"
cmake --build build/example -j "$(nproc)"
cmake --install build/example --prefix "$prefix" > /dev/null
"$prefix/bin/omnihost" run examples/toy_regression/config.yaml "$@"
