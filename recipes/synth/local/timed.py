"""Held-out sentences read by the held-out voice, with every word's true start and end.

Usage: python recipes/synth/local/timed.py --text heldout.txt --out DIR [--limit 80]
Writes DIR/wav/*.wav and DIR/manifest.jsonl whose lines carry "words": [{word, start, end}],
the synthesizer's own word times: bench/streaming.py times partial latency against them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from asr.manifest import Utterance, write_manifest
from asr.synth import TIMED_VOICE, SynthesisError, synthesize_timed, wav_duration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", required=True, type=Path, help="one sentence per line")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--limit", type=int, default=80, help="read only the first N sentences")
    args = parser.parse_args()
    sentences = [s.strip() for s in args.text.read_text().splitlines() if s.strip()][: args.limit]
    (args.out / "wav").mkdir(parents=True, exist_ok=True)
    utterances = []
    for i, text in enumerate(tqdm(sentences, desc="timed speech", unit="utt")):
        wav = args.out / "wav" / f"{i:06d}.wav"
        try:
            words = synthesize_timed(text, wav)
        except SynthesisError as err:
            tqdm.write(f"skipped: {err}")
            continue
        extra = {"voice": f"festival:{TIMED_VOICE}", "words": words}
        utterances.append(Utterance(wav, text, wav_duration(wav) or 0.0, extra))
    write_manifest(args.out / "manifest.jsonl", utterances)
    print(f"{len(utterances)} timed utterances -> {args.out / 'manifest.jsonl'}")


if __name__ == "__main__":
    main()
