"""Free Spoken Digit Dataset: one digit word per file, `{digit}_{speaker}_{take}.wav`, 8 kHz.

Split by speaker, never by file: a file split leaks the voice and flatters the result.
"""

from __future__ import annotations

from pathlib import Path

from asr.audio_file import header_duration
from asr.errors import AsrError
from asr.manifest import Utterance, write_manifest
from asr.text import normalize_text

SPLITS = {
    "train": ("jackson", "nicolas", "yweweler"),
    "dev": ("lucas",),
    "test": ("george",),
}


def prepare(src_dir: str | Path, out_dir: str | Path, splits: dict = SPLITS) -> list[Path]:
    src, out = Path(src_dir), Path(out_dir)
    folder = src / "recordings" if (src / "recordings").is_dir() else src
    files = sorted(folder.glob("*_*_*.wav"))
    if not files:
        raise AsrError(str(src), "no FSDD recordings ({digit}_{speaker}_{take}.wav)")
    _check_speakers(src, files, splits)
    by_split: dict[str, list[Utterance]] = {name: [] for name in splits}
    for path in files:
        digit, speaker, _ = path.stem.split("_", 2)
        split = next((name for name, who in splits.items() if speaker in who), None)
        if split is not None and digit.isdigit():
            duration = header_duration(path, str(src))
            text = normalize_text(digit)
            by_split[split].append(Utterance(path.resolve(), text, duration, {"speaker": speaker}))
    paths = []
    for name, utterances in by_split.items():
        paths.append(out / f"{name}.jsonl")
        write_manifest(paths[-1], utterances)
    return paths


def _check_speakers(src: Path, files: list[Path], splits: dict) -> None:
    """Raise before any manifest is written unless each split has some of its speakers: an
    empty split would otherwise fail only after the others were written."""
    present = {path.stem.split("_")[1] for path in files}
    for split, speakers in splits.items():
        if not present & set(speakers):
            raise AsrError(
                str(src), f"no recordings of the {split} split's speakers ({', '.join(speakers)})"
            )
