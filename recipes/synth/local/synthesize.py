"""Synthesize a sentence list into a WAV + JSON Lines manifest corpus with many TTS voices.

Usage: python recipes/synth/local/synthesize.py --text FILE --out DIR --voices train|heldout
       [--engines espeak,flite,festival,piper,kokoro] [--voice ID ...] [--limit N]
       [--max-hours H] [--seed S] [--jobs N]
Rerunning the same command resumes a killed run (existing WAVs are kept).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

from asr.synth import build_corpus, voice_summary, voices_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", required=True, type=Path, help="one sentence per line")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--voices", required=True, choices=["train", "heldout"])
    parser.add_argument("--engines", help="comma-separated: only these engines' voices")
    parser.add_argument("--voice", action="append", help="only this voice (kokoro:jf_tebukuro)")
    parser.add_argument("--limit", type=int, help="read only the first N sentences")
    parser.add_argument("--max-hours", type=float, help="stop once this much audio exists")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="TTS processes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    voices = voices_for(args.voices)
    if args.engines:
        voices = [v for v in voices if v.engine in args.engines.split(",")]
    if args.voice:
        voices = [v for v in voices if v.id in args.voice]
    print(f"{len(voices)} {args.voices} voices:\n{voice_summary(voices)}", flush=True)
    sentences = [line.strip() for line in args.text.read_text().splitlines() if line.strip()][
        : args.limit
    ]
    start = time.monotonic()
    entries = build_corpus(
        sentences, voices, args.out, seed=args.seed, max_hours=args.max_hours, jobs=args.jobs
    )
    wall = time.monotonic() - start
    audio = sum(e["duration"] for e in entries)
    print(
        f"{len(entries)} utterances, {audio / 3600:.2f} h audio in {wall:.0f} s "
        f"({audio / max(wall, 1e-9):.1f} audio-s per wall-s) -> {args.out / 'manifest.jsonl'}"
    )


if __name__ == "__main__":
    main()
