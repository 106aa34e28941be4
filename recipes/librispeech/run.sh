#!/usr/bin/env bash
# LibriSpeech (or any folder in its format: SPEAKER/CHAPTER/*.trans.txt + FLAC).
#   recipes/librispeech/run.sh --data /corpora/LibriSpeech [--work exp/librispeech]
#     [--config configs/blstm.yaml] [--train-set train-clean-100] [--valid-set dev-clean]
#     [--test-sets "test-clean test-other"] [--stage 0] [--stop-stage 2]
corpus=librispeech work=exp/librispeech config=configs/blstm.yaml
train_set=train-clean-100 valid_set=dev-clean test_sets="test-clean test-other"
source "$(dirname "$0")/../lib/corpus.sh"
