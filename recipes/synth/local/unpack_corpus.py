"""Decode a packed corpus (pack_corpus.py) to 16-bit WAV once, in parallel.

usage: unpack_corpus.py DIR [--jobs N]

Writes DIR/wav/... and, for each DIR/NAME.jsonl, DIR/wav_NAME.jsonl pointing at the WAVs:
decoding Opus every epoch would cost the batch workers more than building the batches.
"""

import argparse
import os
from multiprocessing import Pool
from pathlib import Path

import soundfile as sf

from asr.manifest import Utterance, read_manifest, write_manifest


def decode(job: tuple[Path, Path]) -> None:
    src, dst = job
    if not dst.exists():
        data, rate = sf.read(str(src), dtype="int16")
        dst.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(dst), data, rate, subtype="PCM_16")


def wav_path(root: Path, packed: Path) -> Path:
    return root / "wav" / packed.relative_to(root).with_suffix(".wav")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    root = args.dir.resolve()
    manifests = sorted(m for m in root.glob("*.jsonl") if not m.name.startswith("wav_"))
    utterances = {m: read_manifest(m) for m in manifests}
    recordings = sorted({u.audio for us in utterances.values() for u in us})
    with Pool(args.jobs) as pool:
        pool.map(decode, [(a, wav_path(root, a)) for a in recordings], chunksize=32)
    for manifest, us in utterances.items():
        wavs = [Utterance(wav_path(root, u.audio), u.text, u.duration, u.extra) for u in us]
        write_manifest(root / f"wav_{manifest.name}", wavs)  # paths relative to DIR
    print(f"{len(recordings)} recordings decoded under {args.dir / 'wav'}")


if __name__ == "__main__":
    main()
