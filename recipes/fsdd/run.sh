#!/usr/bin/env bash
# A digit recognizer for the Free Spoken Digit Dataset, split by speaker: train
# jackson/nicolas/yweweler, dev lucas (picks the checkpoint), test george (never seen).
#
#   recipes/fsdd/run.sh [--data ../shared/data/fsdd] [--work exp/fsdd] [--config configs/fsdd.yaml]
#                       [--init asr/models/default.safetensors] [--per-digit 300]
#                       [--so762 ../shared/data/speechocean762] [--so762-repeats 4]
#                       [--stage 0] [--stop-stage 3]
#
# Three real speakers cannot teach a fourth voice, so the recipe does not start from nothing:
# it fine-tunes the bundled English model (--init; its training never saw lucas or george) on
# the three training speakers, every training TTS voice reading the ten digits (--per-digit
# utterances of each, random voice, speed and pitch) and the digit strings that
# speechocean762's training speakers read (70 utterances, 270 digits from 24 more real voices,
# --so762-repeats copies; `--so762 ""` leaves them out). `--init ""` trains from scratch,
# with configs/blstm.yaml's shape.
# Stages: 0 manifests, 1 synthetic digits, 2 train, 3 evaluate (unconstrained and --vocab).
set -euo pipefail

data=../shared/data/fsdd
work=exp/fsdd
config=configs/fsdd.yaml
init=asr/models/default.safetensors
per_digit=300
so762=../shared/data/speechocean762
so762_repeats=4
stage=0
stop_stage=3
source "$(dirname "$0")/../lib/parse_options.sh"
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
  start=()
  if [ -f "$work/exp/train_state.pt" ]; then start=(--resume)
  elif [ -n "$init" ]; then start=(--init "$init"); fi
  asr train "$config" --train "$work/data/train_mix.jsonl" --valid "$work/data/dev.jsonl" \
    --out "$work/exp" "${start[@]}"
fi

if run_stage 3; then
  for set in dev test; do
    for vocab in "" "--vocab $here/digits.txt"; do
      echo "== $set ${vocab:-unconstrained}"
      # shellcheck disable=SC2086
      asr eval "$work/data/$set.jsonl" --model "$work/exp/best.safetensors" $vocab \
        --report "$work/exp/report_${set}${vocab:+_vocab}.txt"
    done
  done
fi
