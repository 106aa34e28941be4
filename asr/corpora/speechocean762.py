"""speechocean762: read English by 230 Mandarin-L1 speakers, already split by speaker.

Writes train.jsonl (minus a few speakers kept apart as dev.jsonl, so that model selection
never looks at the test speakers) and test.jsonl with absolute audio paths.
"""

from __future__ import annotations

import random
from pathlib import Path

from asr.errors import AsrError
from asr.manifest import Utterance, read_manifest, write_manifest
from asr.text import normalize_text

DEV_SPEAKERS = 8  # training speakers set aside for validation


def prepare(src_dir: str | Path, out_dir: str | Path, seed: int = 0) -> list[Path]:
    src, out = Path(src_dir), Path(out_dir)
    for name in ("train.jsonl", "test.jsonl"):
        if not (src / name).exists():
            raise AsrError(str(src), f"not a speechocean762 folder (no {name})")
    train = _normalized(read_manifest(src / "train.jsonl"))
    test = _normalized(read_manifest(src / "test.jsonl"))
    speakers = sorted({u.extra.get("speaker", "") for u in train})
    dev_speakers = set(random.Random(seed).sample(speakers, min(DEV_SPEAKERS, len(speakers) // 5)))
    paths = [out / "train.jsonl", out / "dev.jsonl", out / "test.jsonl"]
    write_manifest(paths[0], [u for u in train if u.extra.get("speaker") not in dev_speakers])
    write_manifest(paths[1], [u for u in train if u.extra.get("speaker") in dev_speakers])
    write_manifest(paths[2], test)
    return paths


def _normalized(utterances: list[Utterance]) -> list[Utterance]:
    for u in utterances:
        u.audio = u.audio.resolve()
        u.text = normalize_text(u.text)
    return [u for u in utterances if u.text]
