"""Your own recordings: audio files with a transcript beside each, or an LJSpeech metadata.csv.

Two layouts, the ones people already have for custom data:
- `NAME.wav` (or .flac, .ogg) with its transcript in `NAME.txt` (or `NAME.lab`), anywhere
  under the folder; a file in a subfolder `SRC/SPEAKER/...` belongs to that speaker;
- LJSpeech's `metadata.csv` (`ID|text` or `ID|text|normalized text`, audio in `wavs/ID.wav`):
  one speaker.
Writes `train.jsonl` and `dev.jsonl` for `asr train --train/--valid`. Where speakers allow,
whole speakers go to dev (about a tenth of the utterances), so that dev WER is the WER on a
voice the model has not heard; otherwise (one speaker, or two of similar size) a fixed tenth
of the files, chosen by a hash of their paths within SRC so that adding recordings does not
reshuffle the old ones.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from asr.audio_file import header_duration
from asr.errors import AsrError
from asr.manifest import Utterance, read_text_file, write_manifest
from asr.text import normalize_text

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
TRANSCRIPT_SUFFIXES = (".txt", ".lab")
DEV_SHARE = 0.1
MAX_SPEAKER_SHARE = 0.25  # rather than give up a larger share of training data, split files


def prepare(src_dir: str | Path, out_dir: str | Path) -> list[Path]:
    src, out = Path(src_dir), Path(out_dir)
    if (src / "metadata.csv").is_file():
        utterances = _ljspeech(src)
    else:
        utterances = _paired_files(src)
    utterances = [u for u in utterances if u.text]
    if len(utterances) < 2:
        raise AsrError(str(src), "needs at least 2 transcribed recordings (train and dev)")
    train, dev = split_train_dev(utterances)
    paths = [out / "train.jsonl", out / "dev.jsonl"]
    write_manifest(paths[0], train)
    write_manifest(paths[1], dev)
    return paths


def _utterance(audio: Path, utt_id: str, text: str, speaker: str, where: str) -> Utterance:
    extra = {"id": utt_id, **({"speaker": speaker} if speaker else {})}
    duration = header_duration(audio, where)
    return Utterance(audio.resolve(), normalize_text(text), duration, extra)


def _paired_files(src: Path) -> list[Utterance]:
    utterances = []
    for audio in sorted(p for p in src.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
        transcript = next(
            (t for t in map(audio.with_suffix, TRANSCRIPT_SUFFIXES) if t.is_file()), None
        )
        if transcript is None:
            continue
        parts = audio.relative_to(src).parts
        speaker = parts[0] if len(parts) > 1 else ""
        text = transcript.read_text(encoding="utf-8", errors="replace")
        utt_id = audio.relative_to(src).with_suffix("").as_posix()  # stable if SRC moves
        utterances.append(
            _utterance(audio, utt_id, " ".join(text.split()), speaker, str(transcript))
        )
    if not utterances:
        raise AsrError(str(src), "no audio files with a transcript beside them (NAME.wav + "
                       "NAME.txt) and no metadata.csv")  # fmt: skip
    return utterances


def _ljspeech(src: Path) -> list[Utterance]:
    metadata = src / "metadata.csv"
    utterances = []
    for number, line in enumerate(read_text_file(metadata).splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        where = f"{metadata}:{number}"
        if len(fields) not in (2, 3) or not fields[0].strip():
            raise AsrError(where, "expected ID|text or ID|text|normalized text")
        utt_id, text = fields[0].strip(), fields[-1]  # the normalized text where present
        audio = next((a for a in (src / "wavs" / f"{utt_id}.wav", src / f"{utt_id}.wav")
                      if a.is_file()), None)  # fmt: skip
        if audio is None:
            raise AsrError(where, f"no audio file wavs/{utt_id}.wav")
        utterances.append(_utterance(audio, utt_id, text, "", where))
    return utterances


def _bucket(name: str) -> float:
    """A stable number in [0, 1) for a name: the same split on every run and machine."""
    return zlib.crc32(name.encode()) / 2**32


def split_train_dev(utterances: list[Utterance]) -> tuple[list[Utterance], list[Utterance]]:
    """Whole speakers to dev when some fit in about a tenth (at most MAX_SPEAKER_SHARE) of the
    utterances, else a hashed tenth of the files; neither side is ever empty."""
    speaker_of = [u.extra.get("speaker", "") for u in utterances]
    counts = {s: speaker_of.count(s) for s in sorted(set(speaker_of), key=_bucket)}
    target = DEV_SHARE * len(utterances)
    dev_speakers: set[str] = set()
    held = 0  # utterances of dev_speakers
    for speaker, count in counts.items():  # in hash order: stable as speakers are added
        if held + count <= target:
            dev_speakers.add(speaker)
            held += count
    if not dev_speakers and len(counts) > 1:
        smallest = min(counts, key=counts.get)
        dev_speakers, held = {smallest}, counts[smallest]
    if len(counts) > 1 and 0 < held <= MAX_SPEAKER_SHARE * len(utterances):
        is_dev = [s in dev_speakers for s in speaker_of]
    else:
        names = [_bucket(str(u.extra["id"])) for u in utterances]
        is_dev = [n < DEV_SHARE for n in names]
        if not any(is_dev):  # too few files for a tenth: the one nearest to it
            is_dev[names.index(min(names))] = True
        if all(is_dev):
            is_dev[names.index(max(names))] = False
    train = [u for u, d in zip(utterances, is_dev, strict=True) if not d]
    dev = [u for u, d in zip(utterances, is_dev, strict=True) if d]
    return train, dev
