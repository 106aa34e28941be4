"""Waveform perturbation: the fast FFT paths compute what their definitions say."""

import torch
import torchaudio.functional as AF

from asr.augment import add_noise, fft_length, reverberate


def test_fft_length_is_the_next_power_of_two():
    assert [fft_length(n) for n in (1, 2, 3, 1000, 1024, 1025)] == [1, 2, 4, 1024, 1024, 2048]


def test_reverberation_is_a_linear_convolution_with_the_room_response():
    wave = torch.randn(16001, generator=torch.Generator().manual_seed(1))
    seed = 7
    wet = reverberate(wave, 16000, torch.Generator().manual_seed(seed))
    # Rebuild the same room response from the same generator draws, convolve directly.
    gen = torch.Generator().manual_seed(seed)
    rt60 = 0.15 + 0.55 * torch.rand((), generator=gen).item()
    length = int(16000 * min(rt60, 0.5))
    t = torch.arange(length, dtype=torch.float32) / 16000
    rir = torch.randn(length, generator=gen) * torch.exp(-6.9 * t / rt60)
    rir[0] = 1.0
    direct = AF.convolve(wave, rir)[: wave.shape[-1]]
    direct = direct * (wave.pow(2).mean().sqrt() / direct.pow(2).mean().sqrt())
    assert wet.shape == wave.shape
    assert torch.allclose(wet, direct, atol=1e-4 * direct.abs().max().item())


def test_noise_keeps_the_length_and_meets_the_snr():
    wave = torch.sin(torch.arange(12345) * 0.05)
    for seed in range(6):  # white and pink both come up
        noisy = add_noise(wave, 10.0, torch.Generator().manual_seed(seed))
        assert noisy.shape == wave.shape
        snr = 10 * torch.log10(wave.pow(2).mean() / (noisy - wave).pow(2).mean())
        assert abs(snr.item() - 10.0) < 0.01


def test_speed_perturbation_changes_duration_and_pitch_together():
    from asr.augment import change_speed

    rate = 16000
    tone = torch.sin(2 * torch.pi * 440 * torch.arange(rate) / rate)
    faster = change_speed(tone, 1.1, rate)
    assert abs(faster.shape[-1] - rate / 1.1) <= 2
    peak = torch.fft.rfft(faster).abs().argmax().item() * rate / faster.shape[-1]
    assert abs(peak - 440 * 1.1) < 3


def test_band_limit_removes_what_8_khz_cannot_carry():
    from asr.augment import band_limit

    rate = 16000
    t = torch.arange(rate) / rate
    wave = torch.sin(2 * torch.pi * 1000 * t) + torch.sin(2 * torch.pi * 6000 * t)
    out = band_limit(wave, rate)
    assert out.shape == wave.shape
    spectrum = torch.fft.rfft(out).abs()
    assert spectrum[6000] < 0.01 * spectrum[1000]


def test_the_feature_warp_is_drawn_from_the_configured_range():
    """augment.warp: [1, 1] leaves the log-mels as SpecAugment alone would; a wide range
    stretches them, and the draw is the configured range's, not a fixed one."""
    from asr.augment import perturb_features, spec_augment, warp_frequency
    from asr.config import AugmentConfig

    feats = torch.randn(50, 80)
    quiet = AugmentConfig(warp=[1.0, 1.0], freq_masks=0, time_masks=0)
    assert torch.equal(perturb_features(feats, quiet, torch.Generator().manual_seed(0)), feats)
    wide = AugmentConfig(warp=[0.7, 0.7], freq_masks=0, time_masks=0)
    warped = perturb_features(feats, wide, torch.Generator().manual_seed(0))
    assert torch.allclose(warped, warp_frequency(feats, 0.7))
    assert torch.equal(spec_augment(feats, quiet, torch.Generator()), feats)
