#!/usr/bin/env bash
# CI's check of scripts/gpu-check.sh on a machine without a GPU: it must stop at once (no
# compiling, no test) with exit 1 and a one-line reason, with and without --prebuilt.
#   bash scripts/check-gpu-check-refuses.sh PREBUILT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
prebuilt=${1:?usage: check-gpu-check-refuses.sh PREBUILT_DIR}
if command -v nvidia-smi > /dev/null && nvidia-smi -L > /dev/null 2>&1; then
  echo "check-gpu-check-refuses: this machine has a GPU; nothing to check" >&2
  exit 0
fi
status=0
for arguments in "" "--prebuilt $prebuilt"; do
  started=$(date +%s%N)
  set +e
  output=$(bash scripts/gpu-check.sh $arguments 2>&1)
  code=$?
  set -e
  elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
  lines=$(printf '%s\n' "$output" | wc -l)
  if [ "$code" -ne 1 ] || [ "$lines" -ne 1 ] || [ "$elapsed_ms" -gt 10000 ]; then
    echo "check-gpu-check-refuses: gpu-check.sh $arguments: exit $code, $lines lines, $elapsed_ms ms:" >&2
    printf '%s\n' "$output" >&2
    status=1
  else
    echo "check-gpu-check-refuses: gpu-check.sh $arguments -> $output"
  fi
done
exit $status
