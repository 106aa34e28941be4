#!/usr/bin/env bash
# BiLSTM vs GRU vs Mamba: each encoder at about the same parameter count, trained on the same
# manifest for the same number of steps with the same batches, then scored on the same test
# sets with the final weights (equal steps, not each run's best); writes $out/table.md (parameters, WER/CER per test set, training seconds per epoch,
# single-thread decoding RTF) and $out/curves.png (validation WER per encoder against step).
#
#   recipes/compare/run.sh --train T.jsonl --valid V.jsonl --test NAME=MANIFEST[=VOCAB] ...
#                          [--out exp/compare] [--steps 3000] [--batch-seconds 20]
#                          [--size small|base] [--encoders "blstm gru mamba"]
#
# --size small (~1.1 M parameters each) keeps Mamba affordable on a CPU: mambapy's scan
# trains ~10x slower than cuDNN-free LSTM/GRU there. --size base uses configs/*.yaml (~4 M).
# Measured here: 600 steps of 20 s batches of FSDD digits from scratch leave even the small
# BiLSTM at WER 1.0 (loss 1.9), so give it thousands of steps (hours for Mamba on one core):
#   recipes/compare/run.sh --train $W/fsdd/train.jsonl --valid $W/fsdd/dev.jsonl \
#     --test george=$W/fsdd/test.jsonl --test george_vocab=$W/fsdd/test.jsonl=recipes/fsdd/digits.txt
set -euo pipefail

out=exp/compare steps=3000 batch_seconds=20 size=small encoders="blstm gru mamba"
train="" valid="" test=()
source "$(dirname "$0")/../lib/parse_options.sh"
for required in train valid; do
  [ -n "${!required}" ] || { echo "$0: --$required is required" >&2; exit 2; }
done
[ ${#test[@]} -gt 0 ] || { echo "$0: at least one --test NAME=MANIFEST is required" >&2; exit 2; }
export OMP_NUM_THREADS=1  # single-thread training speed and RTF, comparable across encoders

size_args() {  # hidden units and layers giving ~1.1 M parameters per encoder
  [ "$size" = small ] || return 0
  case "$1" in
    blstm) echo --set model.hidden=128 --set model.layers=3 ;;
    gru) echo --set model.hidden=224 --set model.layers=3 ;;
    mamba) echo --set model.hidden=160 --set model.layers=6 ;;
  esac
}

for enc in $encoders; do
  exp=$out/$enc
  resume=()
  [ -f "$exp/train_state.pt" ] && resume=(--resume)
  if [ ! -f "$exp/done" ]; then
    # shellcheck disable=SC2046
    asr train "configs/$enc.yaml" --train "$train" --valid "$valid" --out "$exp" "${resume[@]}" \
      $(size_args "$enc") --set train.max_steps="$steps" --set train.epochs=1000 \
      --set train.batch_seconds="$batch_seconds" --set train.warmup_steps=$((steps / 6)) \
      --set train.valid_every=$((steps / 6)) --set train.checkpoint_every=$((steps / 6))
    touch "$exp/done"
  fi
  for t in "${test[@]}"; do
    IFS='=' read -r name manifest vocab <<<"$t"
    extra=()
    [ -n "${vocab:-}" ] && extra=(--vocab "$vocab")
    asr eval "$manifest" --model "$exp/last.safetensors" --json "${extra[@]}" >"$exp/eval_$name.json"
  done
done
python "$(dirname "$0")/local/table.py" --train "$train" --out "$out" $encoders
