#!/usr/bin/env bash
# Common Voice (a release folder with clips/ and train/dev/test.tsv).
#   recipes/commonvoice/run.sh --data /corpora/cv-corpus-17.0/en [--work exp/commonvoice]
#     [--config configs/blstm.yaml] [--stage 0] [--stop-stage 2]
corpus=commonvoice work=exp/commonvoice config=configs/blstm.yaml
train_set=train valid_set=dev test_sets=test
source "$(dirname "$0")/../lib/corpus.sh"
