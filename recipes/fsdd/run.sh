#!/usr/bin/env bash
# A digit recognizer for the Free Spoken Digit Dataset, split by speaker: train
# jackson/nicolas/yweweler, dev lucas (picks the checkpoint), test george (never seen).
#
#   recipes/fsdd/run.sh [--data ../shared/data/fsdd] [--work exp/fsdd] [--config configs/fsdd.yaml]
#                       [--init asr/models/default.safetensors] [--per-digit 300]
#                       [--so762 ../shared/data/speechocean762] [--so762-repeats 4]
#                       [--seeds 1] [--stage 0] [--stop-stage 4]
#
# Three real speakers cannot teach a fourth voice, so the recipe does not start from nothing:
# it fine-tunes the bundled English model (--init; its training never saw lucas or george) on
# the three training speakers, every training TTS voice reading the ten digits (--per-digit
# utterances of each, random voice, speed and pitch) and the digit strings that
# speechocean762's training speakers read (70 utterances, 270 digits from 24 more real voices,
# --so762-repeats copies; `--so762 ""` leaves them out). `--init ""` trains from scratch,
# with configs/blstm.yaml's shape.
#
# Which voices one training run hears well moves with its seed (a held-out speaker's WER by
# five points). --seeds N trains N runs that differ only in their seed, all from the same
# --init, and averages their weights into one model, a "model soup" (Wortsman et al., ICML
# 2022: fine-tunings of one model stay in one basin). Three seeds' soup decodes lucas as well
# as the best of them and george better than their mean, not than the best (README, Results),
# at three times the training time; hence one seed by default.
# Stages: 0 manifests, 1 synthetic digits, 2 train each seed (exp/seedK/), 3 average them
# (exp/model.safetensors), 4 evaluate it (unconstrained and --vocab).
set -euo pipefail

data=../shared/data/fsdd
work=exp/fsdd
config=configs/fsdd.yaml
init=asr/models/default.safetensors
per_digit=300
so762=../shared/data/speechocean762
so762_repeats=4
seeds=1
stage=0
stop_stage=4
source "$(dirname "$0")/../lib/parse_options.sh"
if ! [[ $seeds =~ ^[1-9][0-9]*$ ]]; then
  echo "$0: --seeds must be a whole number of at least 1, not '$seeds'" >&2
  exit 2
fi
here=$(dirname "$0")
run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

combine="python $here/../synth/local/combine.py"

if run_stage 0; then
  asr prepare fsdd "$data" "$work/data"
  if [ -n "$so762" ]; then
    # Training speakers only: speechocean762's test speakers stay out, as everywhere.
    asr prepare speechocean762 "$so762" "$work/so762"
    $combine "$work/data/so762_digits.jsonl" "$work/so762/train.jsonl" --words "$here/digits.txt"
  fi
fi

if run_stage 1; then
  # Each digit word per_digit times, shuffled; synthesize.py gives each line a random
  # training voice (the held-out synthetic voice stays out) with its own speed and pitch.
  python - "$here/digits.txt" "$per_digit" > "$work/data/synth_digits.txt" <<'EOF'
import random, sys
words = open(sys.argv[1]).read().split()
lines = [w for w in words for _ in range(int(sys.argv[2]))]
random.Random(0).shuffle(lines)
print("\n".join(lines))
EOF
  python "$here/../synth/local/synthesize.py" --text "$work/data/synth_digits.txt" \
    --out "$work/synth_digits" --voices train --seed 11
  real=("$work/data/train.jsonl")
  if [ -n "$so762" ]; then
    for _ in $(seq "$so762_repeats"); do real+=("$work/data/so762_digits.jsonl"); done
  fi
  $combine "$work/data/train_mix.jsonl" "${real[@]}" "$work/synth_digits/manifest.jsonl"
fi

if run_stage 2; then
  for seed in $(seq 0 $((seeds - 1))); do
    run="$work/exp/seed$seed"
    start=()
    if [ -f "$run/train_state.pt" ]; then start=(--resume)
    elif [ -n "$init" ]; then start=(--init "$init"); fi
    asr train "$config" --train "$work/data/train_mix.jsonl" --valid "$work/data/dev.jsonl" \
      --out "$run" "${start[@]}" --set "train.seed=$seed"
  done
fi

if run_stage 3; then
  runs=()
  for seed in $(seq 0 $((seeds - 1))); do runs+=("$work/exp/seed$seed/best.safetensors"); done
  asr average "${runs[@]}" --out "$work/exp/model.safetensors"
fi

if run_stage 4; then
  for set in dev test; do
    for vocab in "" "--vocab $here/digits.txt"; do
      echo "== $set ${vocab:-unconstrained}"
      # shellcheck disable=SC2086
      asr eval "$work/data/$set.jsonl" --model "$work/exp/model.safetensors" $vocab \
        --report "$work/exp/report_${set}${vocab:+_vocab}.txt"
    done
  done
fi
