#!/usr/bin/env bash
# Builds everything with AddressSanitizer + UndefinedBehaviorSanitizer (-DOMNI_SANITIZE=ON) and
# runs the whole test suite under them; the host and plugins the tests start are instrumented
# too. Slow: on 2 cores the cold build takes about an hour and the suite about twice its usual
# time, so CI does not run it (it replays the fuzz corpora under the sanitizers instead).
#   bash scripts/test-sanitizers.sh [ctest arguments, e.g. -R tokenizers]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
source scripts/ccache-env.sh

build_dir=${OMNI_SANITIZE_BUILD_DIR:-build-asan}
# sentencepiece comes from its pinned source in this build (cmake/OmniDependencies.cmake says
# why): from OMNI_DEPS_SOURCE_DIR when set (scripts/fetch-deps-sources.sh fills one), else
# downloaded from Debian's archive.
deps_args=()
[ -n "${OMNI_DEPS_SOURCE_DIR:-}" ] && deps_args=(-DOMNI_DEPS_SOURCE_DIR="$OMNI_DEPS_SOURCE_DIR")
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOMNI_SANITIZE=ON \
  "${deps_args[@]}" ${OMNI_CMAKE_ARGS:-}
cmake --build "$build_dir" -j "$(nproc)"

# halt_on_error: the first report fails the test. Undefined behaviour already aborts
# (-fno-sanitize-recover); print_stacktrace gives its location.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"
