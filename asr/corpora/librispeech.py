"""LibriSpeech-format folders: `SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt` beside FLAC files.

Pass a subset folder (train-clean-100, test-other, ...) or a folder holding several; each
subset becomes `OUT/<subset>.jsonl`. Speakers are the top-level folder names, so a split
made by LibriSpeech itself stays a split by speaker.
"""

from __future__ import annotations

from pathlib import Path

from asr.audio_file import header_duration
from asr.errors import AsrError
from asr.manifest import Utterance, read_text_file, write_manifest
from asr.text import normalize_text


def prepare(src_dir: str | Path, out_dir: str | Path) -> list[Path]:
    src, out = Path(src_dir), Path(out_dir)
    transcripts = sorted(src.rglob("*.trans.txt"))
    if not transcripts:
        raise AsrError(str(src), "no LibriSpeech transcripts (*.trans.txt)")
    subsets: dict[str, list[Utterance]] = {}
    for trans in transcripts:
        # .../SUBSET/SPEAKER/CHAPTER/x.trans.txt, however deep SRC holds it (ls/LibriSpeech/
        # test-clean/...); a bare speaker tree is its own subset.
        depth = len(trans.relative_to(src).parts)
        subset = trans.parents[2].name if depth >= 4 else src.resolve().name
        for number, line in enumerate(read_text_file(trans).splitlines(), start=1):
            if not line.strip():
                continue
            utt_id, _, text = line.strip().partition(" ")
            audio = trans.parent / f"{utt_id}.flac"
            if not audio.exists():
                raise AsrError(f"{trans}:{number}", f"no audio file {audio.name}")
            duration = header_duration(audio, f"{trans}:{number}")
            speaker = utt_id.split("-")[0]
            subsets.setdefault(subset, []).append(Utterance(
                audio.resolve(), normalize_text(text), duration,
                {"id": utt_id, "speaker": speaker},
            ))  # fmt: skip
    paths = []
    for subset, utterances in sorted(subsets.items()):
        paths.append(out / f"{subset}.jsonl")
        write_manifest(paths[-1], [u for u in utterances if u.text])
    return paths
