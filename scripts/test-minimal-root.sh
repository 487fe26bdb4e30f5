#!/usr/bin/env bash
# The portable build, proved: a Debian 13 (trixie) root made with `debootstrap --variant=minbase`
# holding only the compiler, CMake, Ninja, ccache and Debian's libtorch-dev (LibTorch 2.6, with
# what it depends on), no other -dev package; every other library is built from the pinned
# sources in a folder filled by scripts/fetch-deps-sources.sh (no download during the build).
# Then the whole test suite runs there. The root is kept in $OMNI_MINIMAL_ROOT between runs
# (with its build folder and ccache), so only the first run pays for the download.
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$PWD
root=${OMNI_MINIMAL_ROOT:-/var/cache/omnihost-ci/trixie-minimal}
mirror=${OMNI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
deps=${OMNI_DEPS_SOURCE_DIR:-/var/cache/omnihost-ci/deps-sources}
# The build tools; libopenblas0-pthread is a run-time library (LibTorch's BLAS, ~36x faster in
# fp32 than the reference BLAS its package pulls in), no -dev package.
packages="g++ cmake ninja-build ccache libtorch-dev libopenblas0-pthread"

if [ "$(id -u)" -ne 0 ]; then
  echo "test-minimal-root: needs root (debootstrap, chroot, mount)" >&2
  exit 1
fi
bash scripts/install-deps.sh debootstrap > /dev/null
bash scripts/fetch-deps-sources.sh "$deps"

if [ ! -f "$root/.omnihost-ready" ]; then
  echo "test-minimal-root: creating a Debian 13 minbase root in $root"
  rm -rf "$root" "$root.partial"
  mkdir -p "$(dirname "$root")"
  debootstrap --variant=minbase trixie "$root.partial" "$mirror" > /dev/null
  cp /etc/resolv.conf "$root.partial/etc/resolv.conf" 2> /dev/null || true
  chroot "$root.partial" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive bash -c \
    "apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages > /dev/null"
  mv "$root.partial" "$root"
  touch "$root/.omnihost-ready"
fi

# The committed sources alone and the dependency sources, as clean copies.
rm -rf "$root/work/src" "$root/work/deps-sources"
mkdir -p "$root/work/src"
git -C "$source_dir" ls-files -z | tar -C "$source_dir" --null -T - -cf - | tar -C "$root/work/src" -xf -
cp -r "$deps" "$root/work/deps-sources"

mount -t proc proc "$root/proc"
trap 'umount "$root/proc"' EXIT

chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  bash -c '
    set -euo pipefail
    cd /work/src
    echo "test-minimal-root: $(dpkg-query -W -f="libtorch-dev \${Version}" libtorch-dev), $(g++ --version | head -1)"
    echo "test-minimal-root: -dev packages present (libtorch-dev and what it pulls in):" \
      $(dpkg-query -W -f="\${Package}\n" | grep -- "-dev$" | sort | tr "\n" " ")
    source scripts/ccache-env.sh
    cmake -S . -B /work/build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DOMNI_DEPS_SOURCE_DIR=/work/deps-sources -DOMNI_DEBIAN_MIRROR=http://no-download.invalid \
      | grep "omnihost dependencies"
    cmake --build /work/build -j "$(nproc)"
    ctest --test-dir /work/build --output-on-failure -j "$(nproc)"
  '
