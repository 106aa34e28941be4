"""Combine manifests into one (absolute audio paths), optionally a seeded random subset.

usage: combine.py OUT.jsonl IN.jsonl [IN.jsonl ...] [--limit N] [--seed S]
"""

import argparse
import random

from asr.manifest import read_manifest, write_manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--limit", type=int, default=0, help="keep a random subset of this size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    utterances = [u for path in args.inputs for u in read_manifest(path)]
    if args.limit and args.limit < len(utterances):
        utterances = random.Random(args.seed).sample(utterances, args.limit)
    write_manifest(args.out, utterances)
    hours = sum(u.duration for u in utterances) / 3600
    print(f"{args.out}: {len(utterances)} utterances, {hours:.2f} h")


if __name__ == "__main__":
    main()
