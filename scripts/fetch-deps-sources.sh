#!/usr/bin/env bash
# Fills a folder with the pinned dependency sources of cmake/dependency-sources.txt (Debian 12's
# source archives), checked against their SHA-256, for builds on machines without internet:
#   bash scripts/fetch-deps-sources.sh DIR
#   cmake -S . -B build -DOMNI_DEPS_SOURCE_DIR=DIR ...
# Archives already in DIR with the right checksum are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: fetch-deps-sources.sh DIR}
mirror=${OMNI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Where an archive has left the live mirror, Debian's snapshot archive still holds it.
snapshot=${OMNI_DEBIAN_SNAPSHOT:-https://snapshot.debian.org/archive/debian/20250520T000000Z}
mkdir -p "$out"

fetched=0 kept=0
while read -r name archive sha256 pool; do
  case "$name" in ''|'#'*) continue ;; esac
  target=$out/$archive
  if [ -f "$target" ] && echo "$sha256  $target" | sha256sum --check --status; then
    kept=$((kept + 1))
    continue
  fi
  ok=0
  for base in "$mirror" "$snapshot"; do
    if curl -fsSL --retry 3 -o "$target.part" "$base/pool/main/$pool/$archive" &&
       echo "$sha256  $target.part" | sha256sum --check --status; then
      mv "$target.part" "$target"
      ok=1
      break
    fi
  done
  rm -f "$target.part"
  if [ "$ok" -ne 1 ]; then
    echo "fetch-deps-sources: $name: could not download $archive with SHA-256 $sha256" \
         "from $mirror or $snapshot" >&2
    exit 1
  fi
  fetched=$((fetched + 1))
done < cmake/dependency-sources.txt
echo "fetch-deps-sources: $out holds every pinned source ($fetched downloaded, $kept already there," \
     "$(du -sh "$out" | cut -f1) in all)"
