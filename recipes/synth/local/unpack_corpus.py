"""Decode a packed corpus (pack_corpus.py) to 16-bit WAV once, in parallel.

usage: unpack_corpus.py DIR [--jobs N]

Writes DIR/wav/... and, for each DIR/NAME.jsonl, DIR/wav_NAME.jsonl pointing at the WAVs:
decoding Opus every epoch would cost the batch workers more than building the batches.
"""

import argparse
import json
import os
from multiprocessing import Pool
from pathlib import Path

import soundfile as sf


def decode(job: tuple[Path, str]) -> None:
    root, rel = job
    dst = root / wav_name(rel)
    if not dst.exists():
        data, rate = sf.read(str(root / rel), dtype="int16")
        dst.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(dst), data, rate, subtype="PCM_16")


def wav_name(rel: str) -> str:
    return "wav/" + rel.rsplit(".", 1)[0] + ".wav"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    manifests = sorted(m for m in args.dir.glob("*.jsonl") if not m.name.startswith("wav_"))
    entries = {
        m: [json.loads(x) for x in m.read_text().splitlines() if x.strip()] for m in manifests
    }
    recordings = sorted({e["audio"] for es in entries.values() for e in es})
    with Pool(args.jobs) as pool:
        pool.map(decode, [(args.dir, rel) for rel in recordings], chunksize=32)
    for manifest, es in entries.items():
        lines = [json.dumps({**e, "audio": wav_name(e["audio"])}) for e in es]
        (args.dir / f"wav_{manifest.name}").write_text("\n".join(lines) + "\n")
    print(f"{len(recordings)} recordings decoded under {args.dir / 'wav'}")


if __name__ == "__main__":
    main()
