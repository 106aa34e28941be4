#!/usr/bin/env bash
# Free Spoken Digit Dataset: split by speaker (train jackson/nicolas/yweweler, dev lucas,
# test george). Digits alone are too little to learn English from: this recipe is for a
# digit recognizer; the bundled model's FSDD figures come from recipes/synth.
#   recipes/fsdd/run.sh [--data ../shared/data/fsdd] [--work exp/fsdd] [--config configs/blstm.yaml]
corpus=fsdd data=../shared/data/fsdd work=exp/fsdd config=configs/blstm.yaml
train_set=train valid_set=dev test_sets=test
source "$(dirname "$0")/../lib/corpus.sh"
