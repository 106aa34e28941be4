"""Reading audio files into mono float32 at the model's sample rate.

Every entry point (training, `transcribe`, `eval`) reads audio here so that a WAV, FLAC
or OGG at any rate or channel count reaches the features as the same kind of array.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from asr.errors import AsrError

SAMPLE_RATE = 16000  # Hz; the rate every bundled model is trained at


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Read `path` -> (N,) float32 tensor in [-1, 1], mono, at `sample_rate`.

    Raises AsrError naming the file for a missing, empty, corrupt or unsupported file.
    """
    path = Path(path)
    if not path.exists():
        raise AsrError(str(path), "no such file")
    if path.is_dir():
        raise AsrError(str(path), "is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AsrError(str(path), "empty file")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)  # (N, C)
    except sf.LibsndfileError as err:
        raise AsrError(str(path), f"cannot decode audio ({_short(err)})") from None
    except (RuntimeError, ValueError, TypeError) as err:
        raise AsrError(str(path), f"cannot decode audio ({_short(err)})") from None
    if data.shape[0] == 0:
        raise AsrError(str(path), "audio has zero length")
    if not np.isfinite(data).all():
        raise AsrError(str(path), "audio contains NaN or infinite samples")
    wave = torch.from_numpy(np.ascontiguousarray(data.mean(axis=1)))
    return resample(wave, rate, sample_rate)


def resample(wave: torch.Tensor, rate: int, target: int) -> torch.Tensor:
    """Band-limited resampling (torchaudio's windowed sinc); a no-op at the same rate."""
    if rate == target:
        return wave
    return AF.resample(wave, rate, target)


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    # libsndfile prefixes its message with the path we already print.
    return text.split(": ", 1)[-1] if "Error opening" in text else text
