"""Common Voice releases: `clips/*.mp3` plus `train.tsv`, `dev.tsv`, `test.tsv` (and others).

Each split TSV present becomes `OUT/<split>.jsonl`, with the contributor (client_id) as the
speaker; Common Voice's own splits keep contributors apart. Durations come from
`clip_durations.tsv` when the release has one (reading thousands of MP3 headers is slow).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from asr.audio_file import header_duration
from asr.errors import AsrError
from asr.manifest import Utterance, read_text_file, write_manifest
from asr.text import normalize_text

SPLITS = ("train", "dev", "test")


def _tsv_rows(path: Path, **options) -> csv.DictReader:
    """A TSV's rows as dicts keyed by its header (a BOM dropped); bytes that are not UTF-8
    are an AsrError naming the line."""
    return csv.DictReader(io.StringIO(read_text_file(path), newline=""), delimiter="\t", **options)


def _durations(src: Path) -> dict[str, float]:
    """clip -> seconds from `clip_durations.tsv`; {} for a release without one."""
    table = src / "clip_durations.tsv"
    if not table.exists():
        return {}
    rows = _tsv_rows(table)
    if not {"clip", "duration[ms]"} <= set(rows.fieldnames or ()):
        raise AsrError(str(table), "needs 'clip' and 'duration[ms]' columns")
    return {row["clip"]: _seconds(row["duration[ms]"], f"{table}:{rows.line_num}") for row in rows}


def _seconds(milliseconds: str | None, where: str) -> float:
    """A `duration[ms]` cell in seconds; a word, a gap or a negative is an AsrError."""
    try:
        seconds = float(milliseconds) / 1000
        if 0 <= seconds < math.inf:
            return seconds
    except (TypeError, ValueError):  # TypeError: a short row leaves the cell None
        pass
    raise AsrError(where, f"duration[ms] {milliseconds!r} is not a number of milliseconds")


def prepare(src_dir: str | Path, out_dir: str | Path, splits=SPLITS) -> list[Path]:
    src, out = Path(src_dir), Path(out_dir)
    present = [s for s in splits if (src / f"{s}.tsv").exists()]
    if not present or not (src / "clips").is_dir():
        raise AsrError(str(src), "not a Common Voice folder (no clips/ or train/dev/test.tsv)")
    csv.field_size_limit(1 << 20)
    durations = _durations(src)
    paths = []
    for split in present:
        tsv = src / f"{split}.tsv"
        utterances = []
        for number, row in enumerate(_tsv_rows(tsv, quoting=csv.QUOTE_NONE), start=2):
            if not row.get("path") or row.get("sentence") is None:
                raise AsrError(f"{tsv}:{number}", "needs 'path' and 'sentence' columns")
            audio = src / "clips" / row["path"]
            if not audio.exists():
                raise AsrError(f"{tsv}:{number}", f"no audio file clips/{row['path']}")
            duration = durations.get(row["path"])
            if duration is None:
                duration = header_duration(audio, f"{tsv}:{number}")
            text = normalize_text(row["sentence"])
            if text:
                extra = {"id": Path(row["path"]).stem, "speaker": row.get("client_id", "")}
                utterances.append(Utterance(audio.resolve(), text, duration, extra))
        paths.append(out / f"{split}.jsonl")
        write_manifest(paths[-1], utterances)
    return paths
