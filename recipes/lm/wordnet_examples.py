"""Print WordNet's example sentences, one normalized sentence per line, for the LM's text.

Why: the synthetic corpus's text is mostly man pages, package docs and fortunes, so everyday
phrases are rare in it ("get home" occurs once in 800,000 words). WordNet's glosses carry
about 48,000 short examples of everyday use ("when you have to hiccup, drink a glass of cold
water"), and Debian ships them (`apt-get install wordnet-base`).

Usage: python recipes/lm/wordnet_examples.py [--dir /usr/share/wordnet] > wordnet.txt
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from asr.text import normalize_text

WORDNET_DIR = Path("/usr/share/wordnet")
PARTS_OF_SPEECH = ("noun", "verb", "adj", "adv")
MIN_WORDS = 3
_QUOTED = re.compile(r'"([^"]+)"')


def examples(data_file: Path) -> Iterator[str]:
    """The quoted examples of each synset's gloss (the text after " | "); the licence at the
    top of each file is indented, synset lines are not."""
    with data_file.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith(" ") or " | " not in line:
                continue
            yield from _QUOTED.findall(line.split(" | ", 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=WORDNET_DIR, help="WordNet's data.* files")
    args = parser.parse_args()
    files = [args.dir / f"data.{part}" for part in PARTS_OF_SPEECH]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        sys.exit(
            f"wordnet_examples: error: {missing[0]}: no such file (apt-get install wordnet-base)"
        )
    seen: set[str] = set()
    for path in files:
        for example in examples(path):
            sentence = normalize_text(example)
            if len(sentence.split()) >= MIN_WORDS and sentence not in seen:
                seen.add(sentence)
                print(sentence)


if __name__ == "__main__":
    main()
