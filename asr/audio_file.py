"""Reading audio files to mono float32 samples and resampling them, without torch (the ONNX
runtime needs it).

Every bad file becomes one AsrError naming it: missing, a folder, empty, undecodable,
zero-length, or holding NaN/infinite samples.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from asr.errors import AsrError

SILENCE_PEAK = 1e-4  # -80 dBFS: a recording that never gets louder holds no speech


def is_silent(wave) -> bool:
    """Whether (N,) samples (numpy or a CPU tensor) never rise above SILENCE_PEAK."""
    samples = np.asarray(wave)
    return samples.size == 0 or float(np.abs(samples).max()) < SILENCE_PEAK


STDIN = "-"  # the path that reads standard input: `ffmpeg -i talk.mp4 -f wav - | asr transcribe -`


def read_mono(path: str | Path) -> tuple[np.ndarray, int]:
    """`path` -> ((N,) float32 in [-1, 1] averaged over channels, its sample rate);
    "-" reads a whole audio file from standard input."""
    if str(path) == STDIN:
        return _decode_whole(sys.stdin.buffer.read(), "stdin")
    path = Path(path)
    if not path.exists():
        raise AsrError(str(path), "no such file")
    if path.is_dir():
        raise AsrError(str(path), "is a directory, not an audio file")
    if path.is_fifo():  # `<(cat a.flac)`: no size, and libsndfile cannot seek back in it
        return _decode_whole(path.read_bytes(), str(path))
    if path.is_file() and path.stat().st_size == 0:
        raise AsrError(str(path), "empty file")
    return decode_mono(str(path), str(path))


def _decode_whole(data: bytes, where: str) -> tuple[np.ndarray, int]:
    """All of a stream's bytes (stdin, a named pipe) -> (mono float32, rate)."""
    if not data:
        raise AsrError(where, "empty input")
    return decode_mono(io.BytesIO(data), where)


def header_duration(path: str | Path, where: str) -> float:
    """Seconds of audio in `path` read from its header alone (no decoding); errors name
    `where` and the file."""
    path = Path(path)
    if not path.is_file():
        raise AsrError(where, f"{path}: no such audio file")
    try:
        info = sf.info(str(path))
    except (RuntimeError, ValueError, TypeError) as err:
        raise AsrError(where, f"{path}: cannot read audio header ({_short(err)})") from None
    return info.frames / info.samplerate


def decode_mono(source, where: str) -> tuple[np.ndarray, int]:
    """A file name or file-like object (e.g. an HTTP upload) -> (mono float32, rate);
    errors are AsrErrors naming `where`."""
    try:
        data, rate = sf.read(source, dtype="float32", always_2d=True)  # (N, C)
    except (RuntimeError, ValueError, TypeError) as err:  # sf.LibsndfileError is a RuntimeError
        raise AsrError(where, f"cannot decode audio ({_short(err)})") from None
    if data.shape[0] == 0:
        raise AsrError(where, "audio has zero length")
    if not np.isfinite(data).all():
        raise AsrError(where, "audio contains NaN or infinite samples")
    return np.ascontiguousarray(data.mean(axis=1)), rate


def resample_np(wave: np.ndarray, file_rate: int, rate: int) -> np.ndarray:
    """(N,) samples at `file_rate` -> contiguous float32 at `rate` (soxr, "HQ"); the same
    samples at the same rate."""
    import soxr

    if file_rate != rate:
        wave = soxr.resample(wave, file_rate, rate, quality="HQ")
    return np.ascontiguousarray(wave, dtype=np.float32)


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    # libsndfile prefixes its message with the path we already print.
    return text.split(": ", 1)[-1] if "Error opening" in text else text
