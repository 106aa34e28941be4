# Shared stages of the per-corpus recipes: 0 prepare manifests, 1 train, 2 evaluate.
# A recipe sets corpus, train_set, valid_set, test_sets (manifest names without .jsonl) and
# defaults for data/work/config, then sources this file with its arguments.
# Options: --data --work --config --train-set --valid-set --test-sets --stage --stop-stage
set -euo pipefail

data=${data:-}
stage=0
stop_stage=2
source "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"
[ -n "$data" ] || { echo "$0: --data is required: the corpus folder" >&2; exit 2; }
run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

# A recipe may define prepare_data itself (kaldi: one data directory per set).
if ! declare -F prepare_data >/dev/null; then
  prepare_data() { asr prepare "$corpus" "$data" "$work/data"; }
fi

if run_stage 0; then
  prepare_data
fi

if run_stage 1; then
  resume=()
  [ -f "$work/exp/train_state.pt" ] && resume=(--resume)
  asr train "$config" --train "$work/data/$train_set.jsonl" --valid "$work/data/$valid_set.jsonl" \
    --out "$work/exp" "${resume[@]}"
fi

if run_stage 2; then
  for set in $test_sets; do
    echo "== $set"
    asr eval "$work/data/$set.jsonl" --model "$work/exp/best.safetensors" \
      --report "$work/exp/report_$set.txt"
  done
fi
