#!/usr/bin/env bash
# speechocean762: read English by Mandarin-L1 speakers; its train/test speakers are kept
# apart and 8 training speakers become dev (model selection never sees test speakers).
#   recipes/speechocean762/run.sh [--data ../shared/data/speechocean762] [--work exp/so762]
corpus=speechocean762 data=../shared/data/speechocean762 work=exp/so762 config=configs/blstm.yaml
train_set=train valid_set=dev test_sets=test
source "$(dirname "$0")/../lib/corpus.sh"
