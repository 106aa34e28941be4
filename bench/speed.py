"""How the model hears the same speech played slower or faster (a diagnostic, not a flag).

    python bench/speed.py --manifest M [--model default] [--utts 300] [--speeds 0.8 0.85 0.9 1.0 1.1]

Each utterance is resampled to play at each speed (tempo and pitch together, as the
training's speed perturbation does), decoded greedily, and scored: WER, CER and the error
counts per speed. A model that does better on slowed speech is short of frames: at 4x
subsampling it gets 25 frames a second for about 15 letters, and CTC needs a blank between
repeated letters.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import track

from asr.augment import change_speed
from asr.bundled import DEFAULT_MODEL
from asr.checkpoint import load_model
from asr.evaluate import score
from asr.manifest import read_manifest
from asr.transcribe import Transcriber

STDERR = Console(stderr=True)  # stdout carries the figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--utts", type=int, default=300, help="evenly spaced utterances")
    parser.add_argument("--speeds", type=float, nargs="+", default=[0.8, 0.85, 0.9, 1.0, 1.1])
    args = parser.parse_args()
    torch.set_num_threads(1)
    transcriber = Transcriber(load_model(args.model))
    rate = transcriber.settings.sample_rate
    utterances = read_manifest(args.manifest)
    utterances = utterances[:: max(1, len(utterances) // args.utts)][: args.utts]
    waves = [transcriber.load_wave(u.audio) for u in utterances]
    refs = [u.text for u in utterances]
    print(f"{args.manifest} ({len(utterances)} utterances), {Path(args.model).name}, greedy")
    for speed in args.speeds:
        hyps = []
        for wave in track(waves, description=f"speed {speed}", console=STDERR, transient=True):
            played = wave if speed == 1.0 else change_speed(wave, speed, rate)
            hyps.append(transcriber.transcribe_piece(played).text)
        s = score(refs, hyps)
        print(f"  speed {speed:.2f}: WER {s.wer:.4f}, CER {s.cer:.4f} ({s.substitutions} sub, "
              f"{s.deletions} del, {s.insertions} ins of {s.words} words)")  # fmt: skip


if __name__ == "__main__":
    main()
