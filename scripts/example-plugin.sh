#!/usr/bin/env bash
# Builds the out-of-tree examples against the SDK and the Flux base installed in ./build/install
# (by scripts/quickstart.sh), exactly as a third party would with find_package(OmniSDK) and
# find_package(OmniFluxKontext), and runs each one's job with the installed host:
#   examples/toy_regression            a trainer of its own (extra arguments go to its run)
#   examples/kontext_increasing_index  a Kontext trainer variant on the tiny model
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="$PWD/build/install"
if [ ! -x "$prefix/bin/omnihost" ]; then
  echo "example-plugin: no installed omnihost in $prefix; run scripts/quickstart.sh first" >&2
  exit 1
fi
for example in toy_regression kontext_increasing_index; do
  cmake -S "examples/$example" -B "build/example-$example" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
  cmake --build "build/example-$example" -j "$(nproc)"
  cmake --install "build/example-$example" --prefix "$prefix" > /dev/null
done
"$prefix/bin/omnihost" plugins | grep -E "toy_regression|kontext_increasing_index|KontextIncreasingIndex"
"$prefix/bin/omnihost" run examples/toy_regression/config.yaml "$@"
"$prefix/bin/omnihost" run examples/kontext_increasing_index/config.yaml --set train.max_train_steps=20 \
  --set train.checkpointing_steps=20
test -f build/kontext_increasing_index/predictions/sample-0000.png
