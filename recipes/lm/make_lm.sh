#!/usr/bin/env bash
# A word n-gram LM for `--lm`, from a text file of sentences (normalized like transcripts).
#   recipes/lm/make_lm.sh TEXT OUT.arpa [ORDER=3] [TOOLS_DIR=tools]
# Writes OUT.arpa (KenLM lmplz, modified Kneser-Ney, pruned singletons above unigrams).
set -euo pipefail
text=$1 out=$2 order=${3:-3} tools=${4:-tools}
"$(dirname "$0")/build_kenlm.sh" "$tools"
python -c "
import sys
from asr.text import normalize_text
for line in open(sys.argv[1], encoding='utf-8'):
    line = normalize_text(line)
    if line:
        print(line)
" "$text" > "$out.txt"
"$tools/kenlm/bin/lmplz" -o "$order" --prune 0 1 --discount_fallback -S 20% -T /tmp < "$out.txt" > "$out"
rm "$out.txt"
echo "$out: $(grep -m1 'ngram 1=' "$out") words"
