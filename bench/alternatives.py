"""What the n best transcripts (`asr transcribe --json --alternatives N`) hold beyond the best.

    python bench/alternatives.py --manifest M [--model default] [--utts 200] [--n 1 2 5 10]

Beam search with the bundled LM and decoding defaults, one search per utterance. For each N it
prints the WER of the first transcript, the oracle WER (each utterance's alternative nearest
its reference: the most a caller that picks among N can gain, by matching them against
phrases it expects, or by rescoring them with a larger LM) and how often the reference is
listed word for word. Also the mean probability the list gives its first transcript when
that is right and when it is wrong: whether a caller can trust a confident list.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import track

from asr.beam import BeamOptions
from asr.bundled import BUNDLED_LM, DEFAULT_MODEL
from asr.checkpoint import load_model
from asr.evaluate import score
from asr.manifest import read_manifest
from asr.text import normalize_text
from asr.transcribe import Transcriber

STDERR = Console(stderr=True)  # stdout carries the figures


def errors(reference: str, hypothesis: str) -> int:
    """Word errors of one hypothesis (substitutions, deletions and insertions), as asr eval
    counts them."""
    scored = score([reference], [hypothesis])
    return scored.substitutions + scored.deletions + scored.insertions


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--lm", type=Path, default=BUNDLED_LM)
    parser.add_argument("--utts", type=int, default=200, help="evenly spaced utterances")
    parser.add_argument("--n", type=int, nargs="+", default=[1, 2, 5, 10])
    args = parser.parse_args()
    torch.set_num_threads(1)
    transcriber = Transcriber(load_model(args.model), BeamOptions(lm=args.lm), max(args.n))
    utterances = read_manifest(args.manifest)
    utterances = utterances[:: max(1, len(utterances) // args.utts)][: args.utts]
    listed = []  # per utterance: reference, alternatives
    for utt in track(utterances, description="decoding", console=STDERR, transient=True):
        hyp = transcriber.transcribe_file(utt.audio)
        listed.append((normalize_text(utt.text), hyp.alternatives))
    words = sum(len(ref.split()) for ref, _ in listed)
    print(f"{args.manifest} ({len(listed)} utterances, {words} words), {Path(args.model).name}, "
          f"LM {args.lm.name}, beam {transcriber.beam_options.beam}")  # fmt: skip
    print(f"  mean alternatives listed (asked for {max(args.n)}): "
          f"{sum(len(a) for _, a in listed) / len(listed):.2f}")  # fmt: skip
    for n in args.n:
        first = sum(errors(ref, alts[0].text if alts else "") for ref, alts in listed)
        oracle = sum(min(errors(ref, a.text) for a in alts[:n]) for ref, alts in listed if alts)
        found = sum(any(a.text == ref for a in alts[:n]) for ref, alts in listed)
        print(f"  N={n}: first WER {first / words:.3f}, oracle WER {oracle / words:.3f}, "
              f"reference listed {found / len(listed):.3f}")  # fmt: skip
    right = [a[0].probability for ref, a in listed if a and a[0].text == ref]
    wrong = [a[0].probability for ref, a in listed if a and a[0].text != ref]
    print(f"  probability of the first transcript: when right {mean(right):.3f} "
          f"({len(right)}), when wrong {mean(wrong):.3f} ({len(wrong)})")  # fmt: skip


if __name__ == "__main__":
    main()
