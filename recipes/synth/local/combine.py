"""Combine manifests into one (absolute audio paths), optionally a seeded random subset.

usage: combine.py OUT.jsonl IN.jsonl [IN.jsonl ...] [--limit N] [--seed S] [--words FILE]

--words keeps only utterances spoken entirely in that word list: the FSDD recipe takes
speechocean762's digit strings this way, real digits from speakers FSDD does not have.
"""

import argparse
import random
from pathlib import Path

from asr.manifest import read_manifest, write_manifest
from asr.text import normalize_text


def _spoken_in(text: str, allowed: set[str]) -> bool:
    words = normalize_text(text).split()
    return bool(words) and all(w in allowed for w in words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--limit", type=int, default=0, help="keep a random subset of this size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--words", help="keep utterances whose every word is in this file")
    args = parser.parse_args()
    utterances = [u for path in args.inputs for u in read_manifest(path)]
    if args.words:
        allowed = set(normalize_text(Path(args.words).read_text()).split())
        utterances = [u for u in utterances if _spoken_in(u.text, allowed)]
    if args.limit and args.limit < len(utterances):
        utterances = random.Random(args.seed).sample(utterances, args.limit)
    write_manifest(args.out, utterances)
    hours = sum(u.duration for u in utterances) / 3600
    print(f"{args.out}: {len(utterances)} utterances, {hours:.2f} h")


if __name__ == "__main__":
    main()
