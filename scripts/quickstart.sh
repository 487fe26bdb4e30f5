#!/usr/bin/env bash
# The README's first command: installs what is needed, builds the product (not the tests) and
# installs it into ./build/install, then trains a DreamOmni2 LoRA on the embedded tiny model
# and the synthetic shapes data set (both made on first use) with the installed host:
#   omnihost run configs/quickstart.yaml
# Extra arguments go to `omnihost run`, e.g. --set train.max_train_steps=50 or --resume latest.
# The report (loss curve, held-out grids, summary) ends up under output/quickstart/run-*/report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
source scripts/ccache-env.sh

prefix="$PWD/build/install"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
# Only what gets installed: the tests and benchmarks (scripts/test.sh builds them) would double
# the first run's build.
cmake --build build --target omnihost_installable -j "$(nproc)"
cmake --install build --prefix "$prefix" > /dev/null

"$prefix/bin/omnihost" plugins
time "$prefix/bin/omnihost" run configs/quickstart.yaml --threads "$(nproc)" "$@"
