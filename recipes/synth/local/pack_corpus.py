"""Pack manifests and their audio into one folder to carry to a training machine.

usage: pack_corpus.py OUT NAME=MANIFEST [NAME=MANIFEST ...] [--kbps 12] [--jobs 2]

Writes OUT/NAME.jsonl with paths relative to OUT and the audio under OUT/a/. 16 kHz WAV
(the synthetic corpus) becomes Ogg Opus at --kbps with opusenc (Debian opus-tools): 21 h of
the recipe's mix packs into 136 MB as a tgz instead of 2.5 GB. Ogg is copied as it is, 8 kHz
WAV (FSDD) becomes FLAC. A recording that several manifests share is packed once. On the
training machine, unpack_corpus.py decodes it all to WAV once, so training never decodes Opus.
"""

import argparse
import hashlib
import shutil
import subprocess
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import soundfile as sf

from asr.manifest import Utterance, read_manifest, write_manifest


def packed_name(src: Path) -> str:
    digest = hashlib.sha1(str(src).encode()).hexdigest()[:16]
    kind = "flac" if src.suffix == ".wav" and sf.info(str(src)).samplerate != 16000 else "ogg"
    return f"a/{digest[:2]}/{digest}.{kind}"


def pack_one(job: tuple[Path, Path, str]) -> None:
    src, dst, kbps = job
    if dst.exists():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.suffix in (".ogg", ".opus", ".flac"):
        shutil.copyfile(src, dst)
    elif dst.suffix == ".flac":
        data, rate = sf.read(str(src), dtype="int16")
        sf.write(str(dst), data, rate, format="FLAC")
    else:
        cmd = ["opusenc", "--quiet", "--bitrate", kbps, str(src), str(dst)]
        subprocess.run(cmd, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("manifests", nargs="+", help="NAME=MANIFEST")
    parser.add_argument("--kbps", default="12")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    jobs: dict[Path, Path] = {}
    for spec in args.manifests:
        name, manifest = spec.split("=", 1)
        packed = []
        for u in read_manifest(manifest):
            src = u.audio.resolve()
            if src not in jobs:
                jobs[src] = Path(packed_name(src))
            packed.append(Utterance(args.out / jobs[src], u.text, u.duration, u.extra))
        write_manifest(args.out / f"{name}.jsonl", packed)  # paths relative to OUT
        print(f"{name}: {len(packed)} utterances")
    work = [(src, args.out / rel, args.kbps) for src, rel in jobs.items()]
    with ProcessPoolExecutor(args.jobs) as pool:
        list(pool.map(pack_one, work, chunksize=64))
    print(f"{len(jobs)} recordings -> {args.out}")


if __name__ == "__main__":
    main()
