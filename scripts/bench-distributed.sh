#!/usr/bin/env bash
# Data-parallel throughput on this machine: the quickstart's fit (embedded tiny model) as one
# process with batch 2 and as two Gloo ranks on 127.0.0.1 with batch 1 each (the same global
# batch and LoRA), one thread per process. Prints each run's steps per second and the ranks'
# gradient all-reduce time per step. On 2 cores expect little; the figure matters on GPUs.
#   bash scripts/bench-distributed.sh [STEPS]     (build: $OMNI_BUILD_DIR, else build)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-300}
host=$PWD/${OMNI_BUILD_DIR:-build}/bin/omnihost
[ -x "$host" ] || { echo "bench-distributed: build $host first (scripts/test.sh)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
config=$PWD/configs/quickstart.yaml
common=(--mode fit --threads 1 --set validation.enabled=false --set "train.max_train_steps=$steps"
        --set "train.checkpointing_steps=$steps" --set "train.log_every=$steps")
rate() { sed -n 's/.* \([0-9.]*\) it\/s.*/\1/p' "$1" | tail -1; }

cd "$work"
"$host" run "$config" --mode cache > prepare.log 2>&1   # model, data set and cache, untimed
"$host" run "$config" "${common[@]}" --set data.batch_size=2 --set logging.output_dir=one > one.log 2>&1
port=$((20000 + RANDOM % 20000))
for rank in 0 1; do
  env RANK=$rank LOCAL_RANK=$rank WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 \
    MASTER_PORT=$port "$host" run "$config" "${common[@]}" --set data.batch_size=1 \
    --set logging.output_dir=two > "rank-$rank.log" 2>&1 &
done
wait
echo "bench-distributed: quickstart fit, $steps steps, global batch 2, $(nproc) cores"
echo "  1 process, batch 2:        $(rate one.log) steps/s"
echo "  2 ranks (Gloo), batch 1:   $(rate rank-0.log) steps/s"
for rank in 0 1; do
  echo "  rank $rank: $(sed -n 's/^fit: rank [0-9]*: \(gradient all-reduce .*\)/\1/p' "rank-$rank.log")"
done
