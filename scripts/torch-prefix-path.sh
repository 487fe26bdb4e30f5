#!/usr/bin/env bash
# Prints the CMAKE_PREFIX_PATH that builds omnihost against a pip-installed torch: the torch
# package folder (so that CMake finds its lib/libtorch.so before any system LibTorch) and its
# share/cmake (TorchConfig.cmake).
#   cmake -S . -B build-cuda -DCMAKE_PREFIX_PATH="$(bash scripts/torch-prefix-path.sh [PYTHON])"
set -euo pipefail
python=${1:-python3}
torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
echo "$torch_dir;$torch_dir/share/cmake"
