#!/usr/bin/env bash
# Builds and tests omnihost a second time against LibTorch 2.x, using only Debian packages:
# Debian 13 (trixie) ships libtorch-dev 2.6. A trixie root made with debootstrap is kept in
# $OMNI_TRIXIE_ROOT between runs (with its build folder and ccache), so only the first run
# pays for the download.
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$PWD
root=${OMNI_TRIXIE_ROOT:-/var/cache/omnihost-ci/trixie}
mirror=${OMNI_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ "$(id -u)" -ne 0 ]; then
  echo "test-libtorch2: needs root (debootstrap, chroot, mount)" >&2
  exit 1
fi
bash scripts/install-deps.sh debootstrap

if [ ! -f "$root/.omnihost-ready" ]; then
  echo "test-libtorch2: creating a Debian 13 root in $root"
  rm -rf "$root"
  mkdir -p "$(dirname "$root")"
  debootstrap --variant=minbase trixie "$root.partial" "$mirror" > /dev/null
  mv "$root.partial" "$root"
  touch "$root/.omnihost-ready"
fi

# The sources and the fixtures, as a clean copy (no build folders).
rm -rf "$root/work/src" "$root/work/shared"
mkdir -p "$root/work/src" "$root/work/shared"
tar -C "$source_dir" --exclude=./build --exclude='./build-*' -cf - . | tar -C "$root/work/src" -xf -
if [ -d "$source_dir/../shared/fixtures" ]; then
  cp -a "$source_dir/../shared/fixtures" "$root/work/shared/"
fi

mount -t proc proc "$root/proc"
trap 'umount "$root/proc"' EXIT
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# The chroot trusts what the host trusts: behind a TLS-inspecting proxy the host's bundle holds
# the proxy's authority, without which npm (the tokenizer comparison) cannot reach its registry.
host_ca=/etc/ssl/certs/ca-certificates.crt
extra_ca=()
if [ -f "$host_ca" ]; then
  cp "$host_ca" "$root/etc/omnihost-host-ca.crt"
  extra_ca=(NODE_EXTRA_CA_CERTS=/etc/omnihost-host-ca.crt)
fi

chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  OMNI_REQUIRE_NPM_TEST=1 "${extra_ca[@]}" bash -c '
    set -euo pipefail
    cd /work/src
    bash scripts/install-deps.sh > /dev/null
    echo "test-libtorch2: $(dpkg-query -W -f="libtorch-dev \${Version}" libtorch-dev), $(g++ --version | head -1)"
    export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
    export CCACHE_BASEDIR=/work/src CCACHE_NOHASHDIR=1
    cmake -S . -B /work/build-libtorch2 -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DOMNI_FIXTURES_DIR=/work/shared/fixtures > /dev/null
    cmake --build /work/build-libtorch2 -j "$(nproc)"
    ctest --test-dir /work/build-libtorch2 --output-on-failure
  '
