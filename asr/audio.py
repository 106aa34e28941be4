"""Reading audio files into mono float32 at the model's sample rate.

Every entry point (training, `transcribe`, `eval`) reads audio here so that a WAV, FLAC
or OGG at any rate or channel count reaches the features as the same kind of array.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torchaudio.functional as AF

from asr.audio_file import read_mono

SAMPLE_RATE = 16000  # Hz; the rate every bundled model is trained at


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Read `path` -> (N,) float32 tensor in [-1, 1], mono, at `sample_rate`.

    Raises AsrError naming the file for a missing, empty, corrupt or unsupported file.
    """
    data, rate = read_mono(path)
    return resample(torch.from_numpy(data), rate, sample_rate)


def resample(wave: torch.Tensor, rate: int, target: int) -> torch.Tensor:
    """Band-limited resampling (torchaudio's windowed sinc); a no-op at the same rate."""
    if rate == target:
        return wave
    return AF.resample(wave, rate, target)
