#!/usr/bin/env bash
# Installs everything omnihost needs to build and test, from Debian 12's archive only.
# Idempotent: packages already present are skipped, and apt is not touched at all when
# nothing is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache git
  libtorch-dev libopenblas0-pthread
  libyaml-cpp-dev libfmt-dev libcxxopts-dev doctest-dev
  libpng-dev libturbojpeg0-dev
  nlohmann-json3-dev libsentencepiece-dev libutf8proc-dev
)
# Extra packages a caller may ask for (CI adds clang for the fuzzer, debootstrap for the
# LibTorch 2.x build).
packages+=("$@")

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
