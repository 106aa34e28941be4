"""JSON Lines manifests: one utterance per line, `{"audio": path, "text": ..., "duration": s}`.

`audio` is absolute or relative to the manifest's folder; NeMo's `audio_filepath` is accepted
too; other keys (speaker, id, ...) are kept in `extra` and ignored by training. Without
`duration` the audio file's header gives it (hand-written manifests need not measure).
NeMo's `offset` (a segment of a longer file) is refused rather than ignored: training on a
whole file against one segment's text would teach the model wrong alignments.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

from asr.audio_file import header_duration
from asr.errors import AsrError


@dataclass
class Utterance:
    audio: Path
    text: str
    duration: float
    extra: dict = field(default_factory=dict)


def read_manifest(path: str | Path) -> list[Utterance]:
    """Parse a manifest; a malformed line is an AsrError naming the file and line number."""
    path = Path(path)
    if not path.exists():
        raise AsrError(str(path), "no such manifest")
    utterances = []
    # "\n" only: JSON strings may hold characters that splitlines() would also break at.
    for number, line in enumerate(read_text_file(path).split("\n"), start=1):
        if line.strip():
            utterances.append(_parse_line(line, path, number))
    if not utterances:
        raise AsrError(str(path), "manifest has no utterances")
    return utterances


def read_text_file(path: Path) -> str:
    """A UTF-8 text file (a leading BOM dropped, as Windows editors write one); other bytes
    (an audio file passed as a manifest, a Latin-1 transcript) are an AsrError naming the
    line and byte offset, not a traceback."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        reason = f"not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})"
        raise AsrError(f"{path}:{line}", reason) from None
    return text.removeprefix("\ufeff")


def _parse_line(line: str, path: Path, number: int) -> Utterance:
    where = f"{path}:{number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise AsrError(where, f"not valid JSON ({err.msg})") from None
    if not isinstance(record, dict):
        raise AsrError(where, "expected a JSON object")
    audio = record.pop("audio", None) or record.pop("audio_filepath", None)
    if not isinstance(audio, str) or not audio:
        raise AsrError(where, "missing 'audio' (or 'audio_filepath')")
    text = record.pop("text", None)
    if not isinstance(text, str):
        raise AsrError(where, "missing 'text' string")
    audio_path = Path(audio) if Path(audio).is_absolute() else path.parent / audio
    if record.pop("offset", None) not in (None, 0):
        raise AsrError(where, "'offset' is not supported: cut the segment into its own file")
    duration = record.pop("duration", None)
    if duration is None:
        duration = header_duration(audio_path, where)
    if not _is_seconds(duration):
        raise AsrError(where, "'duration' must be a finite, non-negative number of seconds")
    return Utterance(audio_path, text, float(duration), record)


def _is_seconds(value) -> bool:
    """Whether a JSON value is a usable duration. json.loads accepts NaN, Infinity and 1e400
    (inf), and NaN < 0 is False; the upper bound also stops an integer too large for a float."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return number and 0 <= value <= sys.float_info.max


def read_checked_manifest(path: str | Path) -> list[Utterance]:
    """`read_manifest`, then `check_recordings`: for runs that read every file (train, eval)."""
    utterances = read_manifest(path)
    check_recordings(path, utterances)
    return utterances


def check_recordings(path: str | Path, utterances: list[Utterance]) -> None:
    """Raise unless every recording's header reads: a missing or corrupt file in a training
    manifest is found in seconds, before the run, not when an epoch reaches it hours in."""
    bad = []
    for u in utterances:
        try:
            if header_duration(u.audio, str(path)) == 0:
                bad.append(f"{u.audio}: audio has zero length")
        except AsrError as err:
            bad.append(err.reason)
    if bad:
        first = (
            bad[0] if len(bad) == 1 else f"{len(bad)} unreadable recordings, the first: {bad[0]}"
        )
        raise AsrError(str(path), first)


def write_manifest(path: str | Path, utterances: list[Utterance]) -> None:
    """Write utterances with audio paths relative to the manifest folder where possible."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for u in utterances:
            audio = Path(u.audio)
            try:
                audio = audio.resolve().relative_to(path.parent.resolve())
            except ValueError:
                audio = audio.resolve()
            record = {"audio": str(audio), "text": u.text, "duration": round(u.duration, 3)}
            f.write(json.dumps({**record, **u.extra}) + "\n")


def padded_batches(order: list[int], lengths, limit: float) -> list[list[int]]:
    """Consecutive runs of `order` whose padded size (longest length x count) stays within
    `limit`; an item longer than the limit gets a batch of its own."""
    batches, current, longest = [], [], 0
    for i in order:
        longest_if_added = max(longest, lengths[i])
        if current and longest_if_added * (len(current) + 1) > limit:
            batches.append(current)
            current, longest_if_added = [], lengths[i]
        current.append(i)
        longest = longest_if_added
    if current:
        batches.append(current)
    return batches


def length_bucketed_batches(
    utterances: list[Utterance], batch_seconds: float, seed: int
) -> list[list[int]]:
    """Indices grouped so that each batch holds similar lengths and at most `batch_seconds`
    of padded audio; batch order is shuffled by `seed` (pass seed + epoch for a new order)."""
    rng = random.Random(seed)
    durations = [u.duration for u in utterances]
    # Jitter before sorting so that equal-length utterances do not always share a batch.
    order = sorted(range(len(utterances)), key=lambda i: durations[i] * rng.uniform(0.9, 1.1))
    batches = padded_batches(order, durations, batch_seconds)
    rng.shuffle(batches)
    return batches
