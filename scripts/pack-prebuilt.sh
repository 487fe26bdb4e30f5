#!/usr/bin/env bash
# Packs what a CUDA build made (scripts/test-cuda-build.sh) into one folder that runs unchanged
# on a GPU machine with the same torch (2.11, CUDA 13): the host, the plugins, the benchmarks,
# the test binary and its test plugins, and the libraries built from pinned sources; stripped,
# under 60 MB. Their RPATHs look in the folder's lib/ and in its torch/ link, which
# scripts/gpu-check.sh --prebuilt points at the torch package of the Python that runs there
# (torch's own libraries then find CUDA's through their own RPATHs).
#   bash scripts/pack-prebuilt.sh BUILD_DIR OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: pack-prebuilt.sh BUILD_DIR OUT_DIR}
out=${2:?usage: pack-prebuilt.sh BUILD_DIR OUT_DIR}
limit_mb=60
command -v patchelf > /dev/null || bash scripts/install-deps.sh patchelf > /dev/null
if ! grep -q "^OMNI_WITH_CUDA_BUILD:INTERNAL=1" "$build/CMakeCache.txt" 2> /dev/null; then
  echo "pack-prebuilt: $build is not a CUDA build (see scripts/test-cuda-build.sh)" >&2
  exit 1
fi

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib/omnihost/plugins" "$out/test_plugins"
cp "$build/bin/omnihost" "$build/bin/bench_flux_transformer" "$build/bin/bench_qwen_vl" \
   "$build/bin/omni_tests" "$out/bin/"
cp -P "$build"/lib/*.so* "$out/lib/"
cp "$build"/lib/omnihost/plugins/*.so "$out/lib/omnihost/plugins/"
cp "$build"/test_plugins/*.so "$out/test_plugins/"
if [ -d "$build/_deps/install/lib" ]; then
  find "$build/_deps/install/lib" -maxdepth 1 -name '*.so*' -exec cp -P {} "$out/lib/" \;
fi
cp "$build/CMakeCache.txt" "$out/build-settings.txt"

# Relative RPATHs only: nothing of this machine's paths travels.
set_rpath() {  # FOLDER RELATIVE_PATH_TO_THE_PACK_ROOT
  local file
  for file in "$1"/*; do
    [ -f "$file" ] && [ ! -L "$file" ] || continue
    # The test plugins include files that only pretend to be libraries.
    [ "$(head -c 4 "$file" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    strip --strip-unneeded "$file"
    patchelf --set-rpath "\$ORIGIN/$2/lib:\$ORIGIN/$2/torch/lib" "$file"
  done
}
set_rpath "$out/bin" ..
set_rpath "$out/lib" ..
set_rpath "$out/lib/omnihost/plugins" ../../..
set_rpath "$out/test_plugins" ..

size_mb=$(du -sm "$out" | cut -f1)
echo "pack-prebuilt: $out holds $(find "$out" -type f | wc -l) files, $size_mb MB"
if [ "$size_mb" -ge "$limit_mb" ]; then
  echo "pack-prebuilt: $out is $size_mb MB, over the $limit_mb MB that travel to a GPU machine" >&2
  exit 1
fi
