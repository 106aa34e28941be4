"""Long recordings: decoded in one piece, cut at pauses (`asr transcribe`'s way), or cut at
the true sentence ends, on recordings made by joining a manifest's utterances.

    python bench/long_recordings.py --manifest M [--model default] [--recordings 9]
                                    [--per-recording 40] [--seed 0]

Joins runs of --per-recording consecutive utterances (one thread, greedy) with pauses of
0.15-0.6 s (seeded) into --recordings recordings of a few minutes, then prints per way of
decoding the WER and CER over all of them and the real-time factor. The
true-ends row decodes each utterance alone: the best that cutting could do. Why: the models
learn on sentences of a few seconds, and asr/segment.py's piece lengths were chosen here, on
dev recordings (never on a test set).
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import torch

from asr.bundled import DEFAULT_MODEL
from asr.checkpoint import load_model
from asr.evaluate import score
from asr.manifest import read_manifest
from asr.transcribe import Transcriber

PAUSE_SECONDS = (0.15, 0.6)


def long_recordings(transcriber: Transcriber, manifest: Path, count: int, per: int, seed: int):
    """-> [(joined wave, its utterances' waves, joined reference)], pauses of seeded lengths."""
    utterances = read_manifest(manifest)
    if len(utterances) < per:
        raise SystemExit(f"{manifest}: {len(utterances)} utterances, fewer than --per-recording")
    rng = random.Random(seed)
    rate = transcriber.settings.sample_rate
    joined = []
    for first in range(0, min(count * per, len(utterances) - per + 1), per):
        group = utterances[first : first + per]
        waves = [transcriber.load_wave(u.audio) for u in group]
        parts = []
        for wave in waves:
            pause = torch.zeros(int(rate * rng.uniform(*PAUSE_SECONDS)))
            parts += [wave, pause]
        joined.append((torch.cat(parts[:-1]), waves, " ".join(u.text for u in group)))
    return joined


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--recordings", type=int, default=9)
    parser.add_argument("--per-recording", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    transcriber = Transcriber(load_model(args.model))
    rate = transcriber.settings.sample_rate
    recordings = long_recordings(
        transcriber, args.manifest, args.recordings, args.per_recording, args.seed
    )
    seconds = [len(wave) / rate for wave, _, _ in recordings]
    count = f"{len(recordings)} recording{'s' * (len(recordings) != 1)}"
    print(f"{count} of {args.per_recording} utterances from {args.manifest} "
          f"({min(seconds):.0f}-{max(seconds):.0f} s, {sum(seconds):.0f} s in all); "
          f"{Path(args.model).name}, greedy, 1 thread")  # fmt: skip
    ways = {
        "one piece": lambda wave, _: transcriber.transcribe_piece(wave).text,
        "cut at pauses (asr transcribe)": lambda wave, _: transcriber.transcribe_wave(wave).text,
        "cut at the true sentence ends": lambda _, waves: " ".join(
            transcriber.transcribe_piece(w).text for w in waves
        ),
    }
    print(f"{'decoding':32} {'WER':>7} {'CER':>7} {'RTF':>8}")
    references = [reference for _, _, reference in recordings]
    for name, decode in ways.items():
        start = time.perf_counter()
        with torch.inference_mode():
            hypotheses = [decode(wave, waves) for wave, waves, _ in recordings]
        rtf = (time.perf_counter() - start) / sum(seconds)
        scores = score(references, hypotheses)
        print(f"{name:32} {scores.wer:7.3f} {scores.cer:7.3f} {rtf:8.4f}")


if __name__ == "__main__":
    main()
