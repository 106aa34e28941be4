"""Forced alignment (asr/align.py): word-time accuracy against true word times, and how
well the alignment score tells a recording's own transcript from wrong ones.

    python bench/align.py --manifest M [--model default] [--utts 80] [--join N]

M needs true word times ("words": [{"word", "start", "end"}] per line), as recipes/synth
stage 1 writes for $W/synth_timed (festival reports where each word starts and ends).
Prints the absolute error of word starts and ends (mean, median, p95, share within 50 and
100 ms; only where M has true word times), then for two utterance scores (the mean word
confidence, `align_score`, and the least sure word's) the AUROC of the own transcript
against another utterance's and against the own one with one word swapped for another.
--join N instead joins every N utterances (0.3-0.6 s pauses) into one long recording and
compares word times aligned in one piece with those aligned in pieces (align_in_pieces, what
recordings too long for one piece get).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import track

from asr.align import (
    AlignmentError,
    align_in_pieces,
    alignment_score,
    force_align,
    least_sure_word,
)
from asr.audio import load_audio
from asr.bundled import DEFAULT_MODEL
from asr.confidence import auroc
from asr.manifest import read_manifest
from asr.text import normalize_text
from asr.transcribe import Transcriber

STDERR = Console(stderr=True)  # stdout carries the figures


def errors_ms(values: list[float]) -> str:
    e = np.abs(np.array(values)) * 1000
    return (f"mean {e.mean():.0f} ms, median {np.median(e):.0f} ms, p95 "
            f"{np.percentile(e, 95):.0f} ms, within 50 ms {np.mean(e <= 50):.3f}, "
            f"within 100 ms {np.mean(e <= 100):.3f}")  # fmt: skip


SCORES = {
    "align_score (mean word)": alignment_score,
    "align_min (least sure word)": least_sure_word,
}
KINDS = ("own", "other", "swapped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--utts", type=int, default=80, help="evenly spaced utterances")
    parser.add_argument("--join", type=int, default=0, help="long recordings of N utterances")
    args = parser.parse_args()
    torch.set_num_threads(1)
    transcriber = Transcriber.from_file(args.model)
    if args.join:
        return compare_pieces(transcriber, read_manifest(args.manifest)[: args.utts], args.join)
    tok, fs = transcriber.loaded.tokenizer, transcriber.frame_seconds
    utts = read_manifest(args.manifest)
    utts = utts[:: max(1, len(utts) // args.utts)][: args.utts]
    rng = random.Random(0)
    starts, ends, skipped = [], [], 0
    scores = {(kind, name): [] for kind in KINDS for name in SCORES}
    for i, utt in enumerate(track(utts, description="aligning", transient=True, console=STDERR)):
        log_probs = transcriber.log_probs(load_audio(utt.audio, transcriber.settings.sample_rate))
        text = normalize_text(utt.text)
        stranger = normalize_text(utts[(i + 1) % len(utts)].text)
        words = text.split()
        words[rng.randrange(len(words))] = rng.choice(stranger.split())
        for kind, transcript in (("own", text), ("other", stranger), ("swapped", " ".join(words))):
            try:
                hyp = force_align(log_probs, tok, transcript, fs)
            except AlignmentError:  # too long a transcript for this audio: surely wrong
                skipped += 1
                for name in SCORES:
                    scores[kind, name].append(0.0)
                continue
            for name, measure in SCORES.items():
                scores[kind, name].append(measure(hyp))
            truth = utt.extra.get("words") or []
            if kind == "own" and [w.word for w in hyp.words] == [
                normalize_text(t["word"]) for t in truth
            ]:
                starts += [w.start - t["start"] for w, t in zip(hyp.words, truth)]
                ends += [w.end - t["end"] for w, t in zip(hyp.words, truth)]
    print(f"{args.manifest} ({len(utts)} utterances), {Path(args.model).name}")
    if ends:
        print(f"  word starts ({len(starts)}): {errors_ms(starts)}")
        print(f"  word ends:   {errors_ms(ends)}")
    for name in SCORES:
        own = scores["own", name]
        print(f"  {name}: own transcript mean {np.mean(own):.3f}")
        for kind, label in (("other", "another utterance's"), ("swapped", "one word swapped")):
            wrong = scores[kind, name]
            both = [True] * len(own) + [False] * len(wrong)
            print(
                f"    vs {label}: mean {np.mean(wrong):.3f}, AUROC {auroc(own + wrong, both):.3f}"
            )
        for t in (0.02, 0.05, 0.1):
            under = {kind: np.mean(np.array(scores[kind, name]) < t) for kind in KINDS}
            print(f"    under {t}: own {under['own']:.3f}, another's {under['other']:.3f}, "
                  f"one word swapped {under['swapped']:.3f}")  # fmt: skip
    if skipped:
        print(f"  ({skipped} wrong transcripts were too long to align: scored 0)")


def compare_pieces(transcriber, utts, join: int) -> None:
    """Word-time errors of long recordings aligned whole and in pieces."""
    rate, rng = transcriber.settings.sample_rate, random.Random(0)
    errors = {"one piece": [], "in pieces": []}
    seconds = []
    for first in track(
        range(0, len(utts) - join + 1, join), description="aligning", console=STDERR
    ):
        waves, truth, texts, offset = [], [], [], 0.0
        for utt in utts[first : first + join]:
            wave = load_audio(utt.audio, rate)
            pause = torch.zeros(int(rng.uniform(0.3, 0.6) * rate))
            truth += [t["end"] + offset for t in utt.extra["words"]]
            texts.append(utt.text)
            waves += [wave, pause]
            offset += (len(wave) + len(pause)) / rate
        wave, text = torch.cat(waves), " ".join(texts)
        seconds.append(len(wave) / rate)
        whole = force_align(transcriber.log_probs(wave), transcriber.loaded.tokenizer, text,
                            transcriber.frame_seconds)  # fmt: skip
        pieces = align_in_pieces(transcriber, wave, text)
        for name, hyp in (("one piece", whole), ("in pieces", pieces)):
            assert len(hyp.words) == len(truth)
            errors[name] += [w.end - t for w, t in zip(hyp.words, truth)]
    print(f"{len(seconds)} recordings of {join} utterances, {min(seconds):.0f}-"
          f"{max(seconds):.0f} s, {len(errors['one piece'])} words")  # fmt: skip
    for name, values in errors.items():
        print(f"  word ends, {name}: {errors_ms(values)}")


if __name__ == "__main__":
    main()
