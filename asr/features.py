"""Log-mel features and their normalization.

One function computes features for training, file inference and (later) streaming, so the
numbers a model sees never depend on how the audio arrived. Framing has no centre padding:
frame t covers samples [t*hop, t*hop + win), which a streaming front end can reproduce
exactly chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torchaudio

LOG_FLOOR = 1e-6  # keeps log() finite on digital silence


@dataclass(frozen=True)
class FeatureSettings:
    sample_rate: int = 16000  # Hz, audio is resampled to this before features
    n_mels: int = 80  # mel bands
    win_ms: float = 25.0  # analysis window
    hop_ms: float = 10.0  # frame shift

    @property
    def win_length(self) -> int:
        return round(self.sample_rate * self.win_ms / 1000)

    @property
    def hop_length(self) -> int:
        return round(self.sample_rate * self.hop_ms / 1000)

    def num_frames(self, num_samples: int) -> int:
        """Frames that `num_samples` of audio yield (no padding)."""
        if num_samples < self.win_length:
            return 0
        return 1 + (num_samples - self.win_length) // self.hop_length


class LogMel(torch.nn.Module):
    """(..., N) waveform -> (..., T, n_mels) log-mel energies."""

    def __init__(self, settings: FeatureSettings):
        super().__init__()
        self.settings = settings
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=settings.sample_rate,
            n_fft=settings.win_length,
            win_length=settings.win_length,
            hop_length=settings.hop_length,
            n_mels=settings.n_mels,
            center=False,
            power=2.0,
        )

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.shape[-1] < self.settings.win_length:
            return wave.new_zeros(*wave.shape[:-1], 0, self.settings.n_mels)
        spec = self.mel(wave)  # (..., n_mels, T)
        return torch.log(spec + LOG_FLOOR).transpose(-1, -2)

    def init_state(self) -> torch.Tensor:
        """(0,) samples: nothing buffered before the first chunk."""
        return torch.zeros(0)

    def step(self, chunk: torch.Tensor, pending: torch.Tensor):
        """chunk: (..., M) new samples, pending: (..., P) samples left by the last call ->
        (..., T, n_mels) frames the chunk completes, new pending (fewer than win_length samples).

        Fed any chunking of a signal, the frames are exactly those `forward` gives on all of it.
        """
        wave = torch.cat([pending, chunk], dim=-1)
        feats = self(wave)  # frames that fit; a partial last window waits for more audio
        return feats, wave[..., feats.shape[-2] * self.settings.hop_length :]


class FeatureStats:
    """Per-dimension mean and std from the training set (global CMVN), kept in checkpoints."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        self.mean = mean.float()
        self.std = std.float().clamp_min(1e-3)

    def normalize(self, feats: torch.Tensor) -> torch.Tensor:
        return (feats - self.mean) / self.std

    @classmethod
    def identity(cls, n_mels: int) -> FeatureStats:
        return cls(torch.zeros(n_mels), torch.ones(n_mels))


class StatsAccumulator:
    """Running sums for `FeatureStats`, in float64 so hours of frames do not lose precision."""

    def __init__(self, n_mels: int):
        self.count = 0
        self.total = torch.zeros(n_mels, dtype=torch.float64)
        self.total_sq = torch.zeros(n_mels, dtype=torch.float64)

    def add(self, feats: torch.Tensor) -> None:
        """feats: (T, n_mels)"""
        f = feats.double()
        self.count += f.shape[0]
        self.total += f.sum(0)
        self.total_sq += (f * f).sum(0)

    def result(self) -> FeatureStats:
        if self.count == 0:
            raise ValueError("no frames to compute feature statistics from")
        mean = self.total / self.count
        var = (self.total_sq / self.count - mean * mean).clamp_min(0)
        return FeatureStats(mean, var.sqrt())
