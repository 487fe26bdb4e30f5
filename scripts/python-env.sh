#!/usr/bin/env bash
# Makes (or updates) the project's Python environment: a virtual environment with every package
# of scripts/python-requirements.txt, PyPI's torch 2.11.0 among them. Prints nothing but errors
# and, at the end, the environment's folder.
#   bash scripts/python-env.sh [VENV]     (default: $OMNI_VENV, else build/venv)
# pip's download cache is kept in $OMNI_PIP_CACHE (default: pip's own), so a second machine
# or a fresh venv does not download the 3 GB of CUDA wheels again.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-${OMNI_VENV:-build/venv}}
requirements=scripts/python-requirements.txt
cache_args=()
if [ -n "${OMNI_PIP_CACHE:-}" ]; then cache_args=(--cache-dir "$OMNI_PIP_CACHE"); fi

if ! python3 -c 'import venv, ensurepip' 2> /dev/null; then
  bash scripts/install-deps.sh python3-venv > /dev/null
fi
stamp="$venv/.omni-requirements"
if [ -f "$stamp" ] && cmp -s "$stamp" "$requirements"; then
  echo "$venv"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "${cache_args[@]}" -r "$requirements"
cp "$requirements" "$stamp"
echo "$venv"
