import torch

from asr.features import FeatureSettings, FeatureStats, LogMel, StatsAccumulator


def test_logmel_shape_matches_frame_count():
    settings = FeatureSettings()
    logmel = LogMel(settings)
    for n in (400, 401, 560, 16000, 16037):
        feats = logmel(torch.randn(n) * 0.1)
        assert feats.shape == (settings.num_frames(n), 80)
    assert settings.num_frames(16000) == 98  # 1 + (16000 - 400) // 160


def test_too_short_audio_gives_zero_frames():
    assert LogMel(FeatureSettings())(torch.zeros(100)).shape == (0, 80)


def test_silence_is_finite():
    feats = LogMel(FeatureSettings())(torch.zeros(16000))
    assert torch.isfinite(feats).all()


def test_stats_normalize_to_zero_mean_unit_variance():
    acc = StatsAccumulator(80)
    chunks = [torch.randn(200, 80) * 3 + 5 for _ in range(4)]
    for chunk in chunks:
        acc.add(chunk)
    stats = acc.result()
    normalized = stats.normalize(torch.cat(chunks))
    assert torch.allclose(normalized.mean(0), torch.zeros(80), atol=1e-4)
    assert torch.allclose(normalized.std(0, unbiased=False), torch.ones(80), atol=1e-3)


def test_identity_stats_change_nothing():
    x = torch.randn(10, 80)
    assert torch.equal(FeatureStats.identity(80).normalize(x), x)


def test_louder_audio_shifts_log_mel_uniformly():
    """Log-mel of a scaled signal differs by a constant: why random gain augmentation works."""
    logmel = LogMel(FeatureSettings())
    wave = torch.randn(8000) * 0.1
    diff = logmel(wave * 10) - logmel(wave)
    assert torch.allclose(diff, torch.full_like(diff, 2 * torch.log(torch.tensor(10.0))), atol=1e-2)


def tone_band(warp: float, hz: float) -> int:
    """The mel band a pure tone of `hz` lands in most, at this warp."""
    settings = FeatureSettings()
    t = torch.arange(settings.sample_rate) / settings.sample_rate
    feats = LogMel(settings, warp)(torch.sin(2 * torch.pi * hz * t))
    return int(feats.mean(0).argmax())


def test_warp_one_is_torchaudios_filterbank_and_other_warps_move_a_tone():
    """A warp below 1 reads every frequency lower (a high voice made to sound like a lower
    one), above 1 higher; the bands above the cutoff still get the spectrum's top."""
    from asr.features import VTLN_WARPS, warped_mel_filterbank

    settings = FeatureSettings()
    assert torch.allclose(
        warped_mel_filterbank(settings, 1.0), LogMel(settings).mel.mel_scale.fb, atol=1e-5
    )
    assert tone_band(0.85, 1000) < tone_band(1.0, 1000) < tone_band(1.15, 1000)
    for warp in VTLN_WARPS:
        bank = warped_mel_filterbank(settings, warp)
        assert bank.shape == (settings.win_length // 2 + 1, settings.n_mels)
        assert (bank.sum(0) > 0).all(), f"warp {warp} leaves a band empty"
        assert bank[-1].sum() > 0 or bank[-2].sum() > 0  # the top bins still reach a band
