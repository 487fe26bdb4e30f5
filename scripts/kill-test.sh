#!/usr/bin/env bash
# The kill test: the quickstart (shortened), killed with SIGKILL at random moments of its
# whole run (making the model and data, caching, fitting, checkpointing, validating,
# predicting), and started again after each kill with the same command, `--resume latest`
# included from the first start, as a preemptible job would be. Then it checks:
#   - the final LoRA is bit-identical to the one of an uninterrupted run;
#   - no temporary file or partial folder is left under the output folder;
#   - every safetensors, JSON, JSON Lines and PNG file there is complete and parses, and
#     metrics.jsonl holds each step's training loss once;
#   - no restart redid more than one checkpoint interval of training.
# Usage: scripts/kill-test.sh [KILLS] [OMNIHOST] [SEED]
#        (defaults: 20 kills, build/bin/omnihost, seed 1). Prints one line per kill.
set -euo pipefail
kills=${1:-20}
repo=$(cd "$(dirname "$0")/.." && pwd)
host=$(realpath "${2:-$repo/build/bin/omnihost}")
RANDOM=${3:-1}  # the kill moments are reproducible
bash "$repo/scripts/install-deps.sh" python3 > /dev/null  # the file checks below are Python
work=$(mktemp -d /tmp/omnihost-kill-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
interval=10
command=(env -u OMNI_PLUGIN_PATH "$host" run "$repo/configs/quickstart.yaml" --threads 2
         --resume latest --set train.max_train_steps=40 --set train.checkpointing_steps=$interval
         --set validation.steps=20 --set make_missing.train_samples=8
         --set make_missing.held_out_samples=2)
fail() { echo "kill-test: FAILED: $*" >&2; exit 1; }

# The uninterrupted run, and how long it takes: the kills are spread over that time.
mkdir "$work/reference" "$work/killed"
started=$(date +%s.%N)
(cd "$work/reference" && "${command[@]}" > log 2>&1) || fail "the uninterrupted run failed: $(tail -n 3 "$work/reference/log")"
duration=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "kill-test: an uninterrupted run takes ${duration} s; $kills kills follow"

# The last training step a log shows, and the step a log says it resumed at.
last_step() { sed -n 's/^step \([0-9]*\)\/.*/\1/p' "$1" | tail -n 1; }
resumed_at() { sed -n 's/^fit: resuming .* at step \([0-9]*\)$/\1/p' "$1" | tail -n 1; }
check_resume() {  # log of the previous attempt, log of this one
  local before after
  before=$(last_step "$1"); after=$(resumed_at "$2")
  if [ -n "$before" ] && [ -n "$after" ] && [ $((before - after)) -gt $interval ]; then
    fail "$2 resumed at step $after after step $before was reached: more than $interval steps redone"
  fi
}

# Every file of a finished cycle: the same LoRA as the uninterrupted run's, nothing
# half-written, every file complete (safetensors headers and sizes, JSON, JSON Lines with
# each step's loss once, PNG chunks and CRCs).
reference_lora=$(ls -d "$work"/reference/output/quickstart/run-*/pytorch_lora_weights.safetensors | tail -n 1)
verify_cycle() {
  local folder=$1 lora leftovers
  lora=$(ls -td "$folder"/output/quickstart/run-*/ | head -n 1)pytorch_lora_weights.safetensors
  cmp "$reference_lora" "$lora" || fail "$folder: the LoRA differs from the uninterrupted run's"
  leftovers=$(find "$folder/output" \( -name '*.tmp-*' -o -name '.*.partial-*' \) -print)
  [ -z "$leftovers" ] || fail "$folder: temporary files left: $leftovers"
  python3 - "$folder/output" <<'PYTHON' || fail "$folder: an incomplete file (above)"
import json, os, struct, sys, zlib
bad = []
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        path = os.path.join(root, name)
        data = open(path, "rb").read()
        try:
            if name.endswith(".safetensors"):
                (size,) = struct.unpack("<Q", data[:8])
                header = json.loads(data[8:8 + size])
                end = max([v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"] + [0])
                assert 8 + size + end == len(data), "size does not match the header"
            elif name.endswith(".json"):
                json.loads(data)
            elif name.endswith(".jsonl"):
                steps = [json.loads(line) for line in data.decode().splitlines()]
                losses = [entry["step"] for entry in steps if "loss" in entry]
                assert len(losses) == len(set(losses)), "a step's loss appears twice"
            elif name.endswith(".png"):
                assert data[:8] == b"\x89PNG\r\n\x1a\n", "no PNG signature"
                at = 8
                while at < len(data):
                    (length,) = struct.unpack(">I", data[at:at + 4])
                    kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
                    (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
                    assert zlib.crc32(kind + body) == crc, "a chunk's CRC is wrong"
                    at += 12 + length
                assert kind == b"IEND", "no IEND chunk"
        except Exception as error:
            bad.append(f"{path}: {error}")
if bad:
    print("\n".join(bad), file=sys.stderr)
sys.exit(1 if bad else 0)
PYTHON
}

# Cycles: kills until a start runs to its end, which closes the cycle (checked above) and
# opens the next in a fresh folder, so that the kills keep landing in every stage, from
# making the model and data to predicting. A start that ends before its kill does not count
# as a kill; when a fresh cycle's first start ends, its time becomes the span the kill
# moments are drawn from (the machine may be busier or quieter than for the first run).
cycle=1; previous=""; killed=0; attempts=0; declare -A stages=()
mkdir "$work/killed/cycle-1"
fresh=yes
while [ $killed -lt "$kills" ]; do
  attempts=$((attempts + 1))
  [ $attempts -le $((4 * kills + 10)) ] || fail "only $killed of $kills starts could be killed in $attempts tries"
  delay=$(awk -v d="$duration" -v r=$RANDOM 'BEGIN { printf "%.2f", d * r / 32768 }')
  folder="$work/killed/cycle-$cycle"
  log="$folder/log-$attempts"
  launched=$(date +%s.%N)
  (cd "$folder" && exec "${command[@]}" > "$log" 2>&1) &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2> /dev/null || true
  status=0; wait "$pid" 2> /dev/null || status=$?
  stage=$(sed -n 's/^omnihost: \([a-z]*\) stage.*/\1/p' "$log" | tail -n 1)
  [ -n "$previous" ] && check_resume "$previous" "$log"
  previous=$log
  if [ $status -eq 137 ]; then
    killed=$((killed + 1)); fresh=no
    stage=${stage:-startup}
    stages[$stage]=$(( ${stages[$stage]:-0} + 1 ))
    echo "kill $killed at ${delay} s, cycle $cycle: in stage $stage; last line: $(tail -n 1 "$log" | cut -c1-80)"
  else
    [ $status -eq 0 ] || fail "$log: exit $status: $(tail -n 3 "$log")"
    if [ $fresh = yes ]; then  # a whole run, start to its last log line: the span for the next kills
      duration=$(awk -v a="$launched" -v b="$(stat -c %.9Y "$log")" 'BEGIN { printf "%.2f", b - a }')
    fi
    echo "start at ${delay} s, cycle $cycle: had finished before its kill; cycle checked (kill span now ${duration} s)"
    verify_cycle "$folder"
    cycle=$((cycle + 1)); previous=""; fresh=yes
    mkdir "$work/killed/cycle-$cycle"
  fi
done
folder="$work/killed/cycle-$cycle"
(cd "$folder" && "${command[@]}" > "$folder/log-final" 2>&1) || fail "the final run failed: $(tail -n 3 "$folder/log-final")"
[ -n "$previous" ] && check_resume "$previous" "$folder/log-final"
verify_cycle "$folder"
summary=""
for stage in "${!stages[@]}"; do summary+=" $stage ${stages[$stage]},"; done
echo "kill-test: passed: $kills kills in $attempts starts over $cycle cycle(s) (killed in:${summary%,}); every cycle's LoRA bit-identical to the uninterrupted run's, no temporary file, every file complete, no resume redid more than $interval steps"
