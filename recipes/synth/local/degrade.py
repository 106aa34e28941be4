"""Copy a test manifest's audio quieter and/or band-limited, to check the model still hears it.

usage: degrade.py IN.jsonl OUT_DIR [--gain-db -30] [--rate 8000]

Writes OUT_DIR/manifest.jsonl and WAVs at `--rate` (the model resamples them back),
`--gain-db` below the original level.
"""

import argparse
from pathlib import Path

import soundfile as sf

from asr.audio import load_audio
from asr.manifest import Utterance, read_manifest, write_manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("manifest")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--gain-db", type=float, default=0.0)
    parser.add_argument("--rate", type=int, default=16000)
    args = parser.parse_args()
    (args.out_dir / "wav").mkdir(parents=True, exist_ok=True)
    out = []
    for i, utt in enumerate(read_manifest(args.manifest)):
        wave = load_audio(utt.audio, args.rate) * 10 ** (args.gain_db / 20)
        path = args.out_dir / "wav" / f"{i:06d}.wav"
        sf.write(str(path), wave.numpy(), args.rate, subtype="PCM_16")
        out.append(Utterance(path, utt.text, utt.duration, utt.extra))
    write_manifest(args.out_dir / "manifest.jsonl", out)
    print(
        f"{args.out_dir / 'manifest.jsonl'}: {len(out)} utterances, {args.gain_db:+.0f} dB, {args.rate} Hz"
    )


if __name__ == "__main__":
    main()
