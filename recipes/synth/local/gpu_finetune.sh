#!/usr/bin/env bash
# Fine-tune the bundled BiLSTM and GRU side by side on one GPU, the way the bundled BiLSTM was
# last trained (the GRU's last run was this script alone: --encoders gru --workers 14
# --seconds 450; README "Results"). Run on the training machine from the repository root, on a
# corpus packed with pack_corpus.py and decoded there with unpack_corpus.py:
#   recipes/synth/local/gpu_finetune.sh --pack DIR [--seconds 480] [--workers 7] [--out exp/gpu]
#                                       [--device cuda] [--encoders "blstm gru"]
#                                       [--init FILE] [--lr LR] [--sets "key=value ..."]
# DIR holds wav_train.jsonl and wav_dev.jsonl, and wav_synth_test.jsonl if packed (the held-out
# voice's curve). Each run stops after --seconds; the same command again resumes both from
# their last checkpoints. OUT/ENCODER.safetensors is the float16 mean of the run's last four
# validation snapshots; evaluate it on dev.jsonl before it replaces a bundled file.
set -euo pipefail

pack="" seconds=480 workers=7 out=exp/gpu device=cuda encoders="blstm gru" init="" lr="" sets=""
source "$(dirname "$0")/../../lib/parse_options.sh"
[ -f "$pack/wav_train.jsonl" ] || {
  echo "$0: --pack must be a folder with wav_train.jsonl (unpack_corpus.py)" >&2
  exit 2
}
mkdir -p "$out"
valid=(--valid "$pack/wav_dev.jsonl")
[ -f "$pack/wav_synth_test.jsonl" ] && valid+=(--valid "$pack/wav_synth_test.jsonl")

finetune() {  # ENCODER: config, bundled weights to start from and learning rate
  local config bundled lr
  case "$1" in
    blstm) config=configs/blstm.yaml bundled=asr/models/default.safetensors lr=4e-4 ;;
    gru) config=configs/gru.yaml bundled=asr/models/streaming.safetensors lr=6e-4 ;;
    *) echo "$0: no bundled model for encoder $1" >&2; return 2 ;;
  esac
  bundled=${init:-$bundled} lr=${lr_override:-$lr}
  local overrides=()
  for pair in $sets; do overrides+=(--set "$pair"); done
  local start=(--init "$bundled")
  [ -f "$out/$1/train_state.pt" ] && start=(--resume)
  local status=0
  timeout -k 30 -s TERM "$seconds" asr train "$config" --train "$pack/wav_train.jsonl" \
    --out "$out/$1" "${start[@]}" "${valid[@]}" --set train.device="$device" \
    --set train.workers="$workers" --set train.batch_seconds=480 --set train.lr="$lr" \
    --set train.warmup_steps=150 --set train.valid_every=400 --set train.checkpoint_every=400 \
    --set train.keep_snapshots=8 --set train.epochs=500 --set train.num_threads=1 \
    "${overrides[@]}" \
    >>"$out/$1.log" 2>&1 || status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 124 ] || { echo "$0: $1 failed, see $out/$1.log" >&2; return 1; }
  asr average "$out/$1" --last 4 --half --out "$out/$1.safetensors"
}

lr_override=$lr
pids=()
for encoder in $encoders; do
  finetune "$encoder" &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
exit "$failed"
