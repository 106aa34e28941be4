#!/usr/bin/env bash
# BiLSTM vs GRU vs Mamba: each encoder at about the same parameter count, trained on the same
# manifest for the same number of steps with the same batches, then scored on the same test
# sets with the final weights (equal steps, not each run's best); writes $out/table.md (parameters, WER/CER per test set, training seconds per epoch,
# single-thread decoding RTF) and $out/curves.png (validation WER per encoder against step).
#
#   recipes/compare/run.sh --train T.jsonl --valid V.jsonl [--valid V2.jsonl] --test NAME=MANIFEST[=VOCAB] ...
#                          [--out exp/compare] [--steps 3000] [--batch-seconds 20]
#                          [--size small|base] [--encoders "blstm gru mamba"]
#                          [--warmup-steps N] [--valid-every N] (both default to steps/6)
#                          [--device cuda] [--workers N] [--jobs 3]
#
# --size small (~1.1 M parameters each) keeps Mamba affordable on a CPU: mambapy's scan
# trains ~10x slower than cuDNN-free LSTM/GRU there. --size base uses configs/*.yaml (~4 M).
# --jobs N trains N encoders at once (on one GPU, say), each with --workers batch processes;
# the first --valid set draws the curve. A second call resumes unfinished runs.
# Measured here: 600 steps of 20 s batches of FSDD digits from scratch leave even the small
# BiLSTM at WER 1.0 (loss 1.9), so give it thousands of steps (hours for Mamba on one core):
#   recipes/compare/run.sh --train $W/fsdd/train.jsonl --valid $W/fsdd/dev.jsonl \
#     --test george=$W/fsdd/test.jsonl --test george_vocab=$W/fsdd/test.jsonl=recipes/fsdd/digits.txt
set -euo pipefail

out=exp/compare steps=3000 batch_seconds=20 size=small encoders="blstm gru mamba"
warmup_steps="" valid_every="" device="" workers="" jobs=1
train="" valid=() test=()
source "$(dirname "$0")/../lib/parse_options.sh"
[ -n "$train" ] || { echo "$0: --train is required" >&2; exit 2; }
[ ${#valid[@]} -gt 0 ] || { echo "$0: --valid is required" >&2; exit 2; }
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

train_args=(--set train.max_steps="$steps" --set train.epochs=1000
  --set train.batch_seconds="$batch_seconds" --set train.warmup_steps="${warmup_steps:-$((steps / 6))}"
  --set train.valid_every="${valid_every:-$((steps / 6))}" --set train.checkpoint_every="${valid_every:-$((steps / 6))}")
for v in "${valid[@]}"; do train_args+=(--valid "$v"); done
[ -n "$device" ] && train_args+=(--set train.device="$device")
[ -n "$workers" ] && train_args+=(--set train.workers="$workers")

train_encoder() {  # ENCODER: train (or resume) its run unless it finished
  local exp=$out/$1 resume=()
  [ -f "$exp/done" ] && return 0
  [ -f "$exp/train_state.pt" ] && resume=(--resume)
  # shellcheck disable=SC2046
  asr train "configs/$1.yaml" --train "$train" --out "$exp" "${resume[@]}" $(size_args "$1") \
    "${train_args[@]}"
  touch "$exp/done"
}

for enc in $encoders; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  train_encoder "$enc" &
done
wait
for enc in $encoders; do
  [ -f "$out/$enc/done" ] || { echo "$0: training $enc failed (see above)" >&2; exit 1; }
done

for enc in $encoders; do
  exp=$out/$enc
  for t in "${test[@]}"; do
    IFS='=' read -r name manifest vocab <<<"$t"
    extra=()
    [ -n "${vocab:-}" ] && extra=(--vocab "$vocab")
    asr eval "$manifest" --model "$exp/last.safetensors" --json "${extra[@]}" >"$exp/eval_$name.json"
  done
done
python "$(dirname "$0")/local/table.py" --train "$train" --out "$out" $encoders
