"""Training-time perturbation of waveforms and features.

Why: a model trained on a few dozen TTS voices learns the voices, not speech. Speed,
level, room, channel and noise perturbation, a frequency warp that mimics other vocal
tract lengths, and SpecAugment make the voices it meets at test time less foreign.
Every function takes an explicit `torch.Generator`, so a training step is reproducible
from (seed, step) alone, which is what makes --resume exact.
"""

from __future__ import annotations

import math

import soxr
import torch

from asr.config import AugmentConfig


def uniform(gen: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * torch.rand((), generator=gen).item()


def chance(gen: torch.Generator, p: float) -> bool:
    return torch.rand((), generator=gen).item() < p


def resample(wave: torch.Tensor, rate: int, new_rate: int) -> torch.Tensor:
    """soxr rather than torchaudio's sinc kernel: the resampling of speed perturbation and
    the 8 kHz round trip was a quarter of a batch's cost, and soxr does it several times faster."""
    return torch.from_numpy(soxr.resample(wave.numpy(), rate, new_rate))


def change_speed(wave: torch.Tensor, speed: float, rate: int) -> torch.Tensor:
    """Play `speed` times faster (tempo and pitch together, like Kaldi's speed perturbation)."""
    if speed == 1.0:
        return wave
    return resample(wave, round(rate * speed), rate)


def fft_length(n: int) -> int:
    """The power of two >= n: an FFT of an utterance's own length (often a large prime
    factor) took several times as long, and reverberation was a third of a batch's cost."""
    return 1 << max(0, n - 1).bit_length()


def add_noise(wave: torch.Tensor, snr_db: float, gen: torch.Generator) -> torch.Tensor:
    """White or pink noise at `snr_db` below the signal's power."""
    noise = torch.randn(wave.shape, generator=gen)
    if chance(gen, 0.5):  # pink: shape the spectrum by 1/sqrt(f)
        n = fft_length(wave.shape[-1])
        spectrum = torch.fft.rfft(noise, n=n)
        freqs = torch.arange(1, spectrum.shape[-1] + 1, dtype=torch.float32)
        noise = torch.fft.irfft(spectrum / freqs.sqrt(), n=n)[: wave.shape[-1]]
    signal_power = wave.pow(2).mean().clamp_min(1e-10)
    noise_power = noise.pow(2).mean().clamp_min(1e-10)
    scale = torch.sqrt(signal_power / (noise_power * 10 ** (snr_db / 10)))
    return wave + scale * noise


def reverberate(wave: torch.Tensor, rate: int, gen: torch.Generator) -> torch.Tensor:
    """Convolve with a synthetic room response: exponentially decaying noise, RT60 0.15-0.7 s."""
    rt60 = uniform(gen, 0.15, 0.7)
    length = int(rate * min(rt60, 0.5))
    t = torch.arange(length, dtype=torch.float32) / rate
    rir = torch.randn(length, generator=gen) * torch.exp(-6.9 * t / rt60)
    rir[0] = 1.0  # direct path
    n = fft_length(wave.shape[-1] + length - 1)  # linear, not circular, convolution
    wet = torch.fft.irfft(torch.fft.rfft(wave, n=n) * torch.fft.rfft(rir, n=n), n=n)
    wet = wet[: wave.shape[-1]]
    return wet * (wave.pow(2).mean().sqrt() / wet.pow(2).mean().sqrt().clamp_min(1e-8))


def band_limit(wave: torch.Tensor, rate: int) -> torch.Tensor:
    """Round trip through 8 kHz: what a telephone or an 8 kHz recording leaves of speech."""
    return resample(resample(wave, rate, 8000), 8000, rate)[: wave.shape[-1]]


def perturb_wave(wave: torch.Tensor, rate: int, cfg: AugmentConfig, gen) -> torch.Tensor:
    """(N,) waveform -> perturbed (N',) waveform (speed changes the length)."""
    speed = cfg.speeds[int(torch.randint(len(cfg.speeds), (), generator=gen))]
    wave = change_speed(wave, speed, rate)
    if chance(gen, cfg.reverb_prob):
        wave = reverberate(wave, rate, gen)
    if chance(gen, cfg.bandlimit_prob):
        wave = band_limit(wave, rate)
    if chance(gen, cfg.noise_prob):
        wave = add_noise(wave, uniform(gen, *cfg.snr_db), gen)
    gain = 10 ** (uniform(gen, *cfg.gain_db) / 20)
    return (wave * gain).clamp(-1.0, 1.0)


def warp_frequency(feats: torch.Tensor, alpha: float) -> torch.Tensor:
    """Stretch (T, F) log-mels along frequency by `alpha`: a cheap vocal-tract-length warp."""
    n_bins = feats.shape[-1]
    source = (torch.arange(n_bins, dtype=torch.float32) / alpha).clamp(max=n_bins - 1)
    low = source.floor().long()
    high = (low + 1).clamp(max=n_bins - 1)
    frac = source - low
    return feats[:, low] * (1 - frac) + feats[:, high] * frac


def spec_augment(feats: torch.Tensor, cfg: AugmentConfig, gen) -> torch.Tensor:
    """Zero (= the mean, after normalization) random bands and spans of normalized (T, F)."""
    feats = feats.clone()
    frames, bins = feats.shape
    for _ in range(cfg.freq_masks):
        width = int(torch.randint(cfg.freq_width + 1, (), generator=gen))
        start = int(torch.randint(max(1, bins - width), (), generator=gen))
        feats[:, start : start + width] = 0.0
    max_time = math.floor(frames * cfg.time_width)
    for _ in range(cfg.time_masks):
        width = int(torch.randint(max_time + 1, (), generator=gen))
        start = int(torch.randint(max(1, frames - width), (), generator=gen))
        feats[start : start + width, :] = 0.0
    return feats


def perturb_features(feats: torch.Tensor, cfg: AugmentConfig, gen) -> torch.Tensor:
    """Normalized (T, F) -> vocal-tract warp then SpecAugment."""
    return spec_augment(warp_frequency(feats, uniform(gen, *cfg.warp)), cfg, gen)
