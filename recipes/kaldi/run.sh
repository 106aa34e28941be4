#!/usr/bin/env bash
# Kaldi data directories (wav.scp, text, optional segments/utt2spk): one folder per set,
# named after the set, e.g. --data /egs/x/s5/data holding train/, dev/ and test/.
#   recipes/kaldi/run.sh --data /egs/x/s5/data [--train-set train] [--valid-set dev]
#     [--test-sets test] [--work exp/kaldi] [--config configs/blstm.yaml]
corpus=kaldi work=exp/kaldi config=configs/blstm.yaml
train_set=train valid_set=dev test_sets=test
prepare_data() {  # each data dir becomes $work/data/<set>.jsonl
  for set in "$train_set" "$valid_set" $test_sets; do
    asr prepare kaldi "$data/$set" "$work/data"
  done
}
source "$(dirname "$0")/../lib/corpus.sh"
