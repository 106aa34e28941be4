"""Kaldi data directories: `wav.scp`, `text`, and `segments` / `utt2spk` where present.

Manifests name one audio file per utterance, so segments are cut out into WAVs under OUT,
and `wav.scp` entries that are commands (`... |`, Kaldi's convention) are run to get the
audio, exactly as Kaldi would run them: prepare only data directories you trust.
"""

from __future__ import annotations

import io
import math
import subprocess
from collections.abc import Iterator
from pathlib import Path

import soundfile as sf

from asr.audio_file import header_duration
from asr.errors import AsrError
from asr.manifest import Utterance, read_text_file, write_manifest
from asr.text import normalize_text


def _rows(path: Path, fields: int | None = None) -> Iterator[tuple[str, str, list[str]]]:
    """(where, key, parts) for each line of a Kaldi table: the key, any whitespace (Kaldi
    writes spaces or tabs), then the rest of the line, split into `fields` parts if given."""
    for number, line in enumerate(read_text_file(path).splitlines(), start=1):
        if not line.strip():
            continue
        key, *tail = line.split(maxsplit=1)
        rest = tail[0].strip() if tail else ""
        parts = rest.split() if fields else [rest]
        if not rest or (fields and len(parts) != fields):
            raise AsrError(f"{path}:{number}", "malformed line")
        yield f"{path}:{number}", key, parts


def _table(path: Path, fields: int | None = None) -> dict[str, list[str]]:
    """Kaldi table: key -> the rest of the line (split into `fields` parts if given)."""
    return {key: parts for _, key, parts in _rows(path, fields)}


def _segments(path: Path) -> dict[str, tuple[str, float, float]]:
    """`segments`: utterance -> (recording, start s, end s); an end below 0 means the end."""
    return {
        utt: (rec, _seconds(start, where), _seconds(end, where))
        for where, utt, (rec, start, end) in _rows(path, 3)
    }


def _seconds(text: str, where: str) -> float:
    """A segment time; a word, 'nan' or 'inf' is an AsrError naming the line."""
    try:
        value = float(text)
        if math.isfinite(value):
            return value
    except ValueError:
        pass
    raise AsrError(where, f"segment time {text!r} is not a number of seconds")


def _read(entry: str, where: str):
    """A wav.scp entry -> (samples, rate): a file path or a command ending in '|'."""
    try:
        if entry.endswith("|"):
            proc = subprocess.run(entry[:-1], shell=True, capture_output=True, check=True)
            return sf.read(io.BytesIO(proc.stdout), dtype="float32")
        return sf.read(entry, dtype="float32")
    except subprocess.CalledProcessError as err:
        raise AsrError(
            where, f"command failed: {err.stderr.decode(errors='replace').strip()}"
        ) from None
    except (RuntimeError, sf.LibsndfileError) as err:
        raise AsrError(where, f"cannot read audio ({err})") from None


def _audio_source(entry: str, src: Path, where: str) -> str:
    """A wav.scp entry as `_read` takes it: a command unchanged; a relative path as Kaldi
    means it (from the recipe folder, the working directory), else from the data directory."""
    if entry.endswith("|"):
        return entry
    for path in (Path(entry), src / entry):
        if path.exists():
            return str(path)
    raise AsrError(where, f"no such audio file {entry}")


def _cut(recording: tuple, start: float, end: float, target: Path) -> tuple[Path, float]:
    """Write seconds [start, end) of (samples, rate) (end < 0: to the end) as a 16-bit WAV;
    -> (its absolute path, its duration)."""
    samples, rate = recording
    piece = samples[round(start * rate) : None if end < 0 else round(end * rate)]
    target.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(target), piece, rate, subtype="PCM_16")
    return target.resolve(), len(piece) / rate


def prepare(src_dir: str | Path, out_dir: str | Path) -> list[Path]:
    src, out = Path(src_dir), Path(out_dir)
    for name in ("wav.scp", "text"):
        if not (src / name).exists():
            raise AsrError(str(src), f"not a Kaldi data directory (no {name})")
    recordings = {k: v[0] for k, v in _table(src / "wav.scp").items()}
    texts = {k: v[0] for k, v in _table(src / "text").items()}
    speakers = (
        {k: v[0] for k, v in _table(src / "utt2spk", 1).items()}
        if (src / "utt2spk").exists()
        else {}
    )
    has_segments = (src / "segments").exists()
    if has_segments:
        segments = _segments(src / "segments")
    else:
        segments = {k: (k, 0.0, -1.0) for k in recordings}
    utterances, cache = [], {}
    for utt, (rec, start, end) in sorted(segments.items()):
        if utt not in texts:
            continue  # Kaldi tolerates utterances without text; they cannot be scored
        if rec not in recordings:
            raise AsrError(str(src / "segments"), f"{utt}: recording {rec} is not in wav.scp")
        where = f"{src / 'wav.scp'}: {rec}"
        if rec not in cache:  # a cached recording's source was found when it was read
            source = _audio_source(recordings[rec], src, where)
            if has_segments or source.endswith("|"):
                cache = {rec: _read(source, where)}  # keep one recording
        if rec in cache:
            audio, duration = _cut(cache[rec], start, end, out / "wav" / f"{utt}.wav")
        else:
            audio, duration = Path(source).resolve(), header_duration(source, where)
        text = normalize_text(texts[utt])
        if text:
            extra = {"id": utt, "speaker": speakers.get(utt, rec)}
            utterances.append(Utterance(audio, text, duration, extra))
    path = out / f"{src.resolve().name}.jsonl"  # `asr prepare kaldi . OUT` too: '.' has no name
    write_manifest(path, utterances)
    return [path]
