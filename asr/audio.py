"""Reading audio files into mono float32 at the model's sample rate.

Every entry point (training, `transcribe`, `eval`) reads audio here so that a WAV, FLAC
or OGG at any rate or channel count reaches the features as the same kind of array.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path

import torch
import torchaudio.functional as AF

from asr.audio_file import read_mono, resample_np

SAMPLE_RATE = 16000  # Hz; the rate every bundled model is trained at
# torchaudio's sinc kernel has one row per output phase and one column per input phase of
# the reduced ratio: 44,100 -> 16,000 is 160 x 441, but an odd rate such as 22,254 Hz is
# 8,000 x 11,127 (seconds and gigabytes for a short file). Past this many phases, soxr.
MAX_SINC_PHASES = 1000


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Read `path` -> (N,) float32 tensor in [-1, 1], mono, at `sample_rate`.

    Raises AsrError naming the file for a missing, empty, corrupt or unsupported file.
    """
    data, rate = read_mono(path)
    return resample(torch.from_numpy(data), rate, sample_rate)


def resample(wave: torch.Tensor, rate: int, target: int) -> torch.Tensor:
    """Band-limited resampling, a no-op at the same rate: torchaudio's windowed sinc for the
    usual rates (what the bundled models were trained on), soxr for rates whose ratio to
    `target` would make that kernel huge."""
    if rate == target:
        return wave
    common = gcd(rate, target)
    if max(rate, target) // common > MAX_SINC_PHASES:
        return torch.from_numpy(resample_np(wave.numpy(), rate, target))
    return AF.resample(wave, rate, target)
