#!/usr/bin/env bash
# CI's check of a quickstart run: every file of the report exists and the LoRA lowered the
# held-out loss by at least MIN_REDUCTION (a fraction; default 0: lowered at all).
# Usage: scripts/check-quickstart.sh OUTPUT_DIR [MIN_REDUCTION]   (OUTPUT_DIR: logging.output_dir)
set -euo pipefail
output=${1:?usage: check-quickstart.sh OUTPUT_DIR [MIN_REDUCTION]}
min_reduction=${2:-0}
run=$(ls -d "$output"/run-* | tail -n 1)
status=0
for file in pytorch_lora_weights.safetensors metrics.jsonl tensorboard report/report.txt \
    report/summary.json report/loss_curve.png report/held_out-0.png; do
  if [ ! -e "$run/$file" ]; then echo "check-quickstart: missing $run/$file" >&2; status=1; fi
done
if [ ! -e "$output/predictions/held-out-0000.png" ]; then
  echo "check-quickstart: missing $output/predictions/held-out-0000.png" >&2; status=1
fi
base=$(sed -n 's/.*"held_out_loss_base": *\([0-9.eE+-]*\).*/\1/p' "$run/report/summary.json")
lora=$(sed -n 's/.*"held_out_loss_lora": *\([0-9.eE+-]*\).*/\1/p' "$run/report/summary.json")
if ! awk -v b="$base" -v l="$lora" -v m="$min_reduction" \
    'BEGIN { exit !(b != "" && l != "" && l < b && 1 - l / b >= m) }'; then
  echo "check-quickstart: held-out loss did not go down by at least $min_reduction" \
       "(base '$base', LoRA '$lora')" >&2
  status=1
fi
[ $status -eq 0 ] && echo "check-quickstart: report complete; held-out loss $base -> $lora"
exit $status
