"""Log-mel features and their normalization.

One function computes features for training, file inference and (later) streaming, so the
numbers a model sees never depend on how the audio arrived. Framing has no centre padding:
frame t covers samples [t*hop, t*hop + win), which a streaming front end can reproduce
exactly chunk by chunk.
"""

from __future__ import annotations

import math
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


WARP_CUTOFF = 0.85  # of Nyquist: the warp is linear below, then joins Nyquist to itself
# The warps `--vtln` tries per utterance. Of the ways to use them tried on dev.jsonl (300
# utterances, greedy WER 0.676 unwarped), keeping the warp of highest mean frame confidence
# gave 0.654 (of highest mean best-symbol log-probability 0.661; only 0.9-1.1: 0.660);
# averaging the warps' posteriors gave 0.673-0.680, no gain.
VTLN_WARPS = (0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15)


def warped_mel_filterbank(settings: FeatureSettings, warp: float) -> torch.Tensor:
    """(n_freqs, n_mels) mel filterbank of a vocal-tract-length warp (VTLN): each FFT bin is
    read as `warp` times its frequency, so a voice with higher formants than the training
    voices (a shorter vocal tract) looks like them at a warp below 1. Piecewise linear as
    in Kaldi: above the cutoff the map bends back to Nyquist, so the top bands still get the
    top of the spectrum and never go empty. Warp 1 is torchaudio's own filterbank."""
    nyquist = settings.sample_rate / 2
    freqs = torch.linspace(0, nyquist, settings.win_length // 2 + 1, dtype=torch.float64)
    cut = WARP_CUTOFF * nyquist * min(1.0, 1.0 / warp)
    above = warp * cut + (nyquist - warp * cut) * (freqs - cut) / (nyquist - cut)
    warped = torch.where(freqs <= cut, warp * freqs, above)
    mels = torch.linspace(_hz_to_mel(0.0), _hz_to_mel(nyquist), settings.n_mels + 2)
    edges = 700.0 * (10 ** (mels.double() / 2595.0) - 1.0)  # HTK mel scale, as torchaudio's
    width = edges[1:] - edges[:-1]
    slopes = edges[None, :] - warped[:, None]
    down, up = -slopes[:, :-2] / width[:-1], slopes[:, 2:] / width[1:]
    bank = torch.clamp(torch.minimum(down, up), min=0)
    # A low band narrower than the bins' warped spacing can fall between two bins (at warp
    # 1.15 the first one does) and would read digital silence: it takes its nearest bin.
    for band in torch.nonzero(bank.sum(0) == 0).flatten().tolist():
        bank[int(torch.argmin((warped - edges[band + 1]).abs())), band] = 1.0
    return bank.float()


def _hz_to_mel(hz: float) -> float:
    return 2595.0 * math.log10(1.0 + hz / 700.0)


class LogMel(torch.nn.Module):
    """(..., N) waveform -> (..., T, n_mels) log-mel energies; `warp` != 1 warps the mel
    scale (warped_mel_filterbank) for a voice search at decoding time."""

    def __init__(self, settings: FeatureSettings, warp: float = 1.0):
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
        if warp != 1.0:
            self.mel.mel_scale.fb = warped_mel_filterbank(settings, warp)

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
