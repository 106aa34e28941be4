#!/usr/bin/env bash
# A digit recognizer for the Free Spoken Digit Dataset, split by speaker: train
# jackson/nicolas/yweweler, dev lucas (picks the checkpoint), test george (never seen).
#
#   recipes/fsdd/run.sh [--data ../shared/data/fsdd] [--work exp/fsdd] [--config configs/fsdd.yaml]
#                       [--init asr/models/default.safetensors] [--per-digit 300]
#                       [--stage 0] [--stop-stage 3]
#
# Three real speakers cannot teach a fourth voice, so the recipe does not start from nothing:
# it fine-tunes the bundled English model (--init; its training never saw lucas or george) on
# the three training speakers plus every training TTS voice reading the ten digits
# (--per-digit utterances of each, random voice, speed and pitch). `--init ""` trains from
# scratch, with configs/blstm.yaml's shape.
# Stages: 0 manifests, 1 synthetic digits, 2 train, 3 evaluate (unconstrained and --vocab).
set -euo pipefail

data=../shared/data/fsdd
work=exp/fsdd
config=configs/fsdd.yaml
init=asr/models/default.safetensors
per_digit=300
stage=0
stop_stage=3
source "$(dirname "$0")/../lib/parse_options.sh"
here=$(dirname "$0")
run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

if run_stage 0; then
  asr prepare fsdd "$data" "$work/data"
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
  python "$here/../synth/local/combine.py" "$work/data/train_mix.jsonl" \
    "$work/data/train.jsonl" "$work/synth_digits/manifest.jsonl"
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
