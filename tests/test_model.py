import pytest
import torch

from asr.config import Config, ModelConfig
from asr.encoders import ENCODERS
from asr.errors import AsrError
from asr.model import CTCModel, subsampled_lengths


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_shapes_and_lengths(encoder):
    model = CTCModel(ModelConfig(encoder=encoder, hidden=32, layers=2), n_mels=80, vocab_size=29)
    model.eval()
    lens = torch.tensor([100, 61, 7])
    log_probs, out_lens = model(torch.randn(3, 100, 80), lens)
    assert log_probs.shape == (3, int(subsampled_lengths(lens).max()), 29)
    assert out_lens.tolist() == [24, 14, 1]
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(3, 24), atol=1e-5)


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_padding_does_not_change_outputs(encoder):
    """An utterance decodes the same alone and padded inside a batch."""
    model = CTCModel(ModelConfig(encoder=encoder, hidden=32, layers=2), 80, 29).eval()
    x = torch.randn(1, 60, 80)
    alone, n = model(x, torch.tensor([60]))
    padded = torch.cat([x, torch.randn(1, 40, 80)], dim=1)
    batched, _ = model(torch.cat([padded, torch.randn(1, 100, 80)]), torch.tensor([60, 100]))
    assert torch.allclose(alone[0, : n[0]], batched[0, : n[0]], atol=1e-5)


def test_gru_step_matches_forward_and_leaves_state_alone():
    enc = ENCODERS["gru"](16, ModelConfig(encoder="gru", hidden=24, layers=2)).eval()
    x = torch.randn(2, 30, 16)
    full, _ = enc(x, torch.tensor([30, 30]))
    state, pieces = enc.init_state(2), []
    for start, stop in [(0, 1), (1, 8), (8, 20), (20, 30)]:
        before = state.clone()
        y, new_state = enc.step(x[:, start:stop], state)
        assert torch.equal(state, before)  # step never mutates the caller's state
        pieces.append(y)
        state = new_state
    assert torch.allclose(torch.cat(pieces, dim=1), full, atol=1e-5)


def test_tbptt_keeps_forward_values_and_cuts_gradient():
    enc = ENCODERS["gru"](8, ModelConfig(encoder="gru", hidden=8, layers=1)).eval()
    x = torch.randn(1, 20, 8, requires_grad=True)
    full, _ = enc(x, torch.tensor([20]))
    cut, _ = enc(x, torch.tensor([20]), tbptt_frames=5)
    assert torch.allclose(full, cut, atol=1e-6)
    cut[0, -1].sum().backward()  # the last frame's gradient stops at its segment's start
    assert x.grad[0, :15].abs().sum() == 0 and x.grad[0, 15:].abs().sum() > 0


def test_tbptt_refused_for_bidirectional():
    enc = ENCODERS["blstm"](8, ModelConfig(hidden=8, layers=1))
    with pytest.raises(ValueError, match="causal"):
        enc(torch.randn(1, 10, 8), torch.tensor([10]), tbptt_frames=5)


def test_unknown_encoder():
    with pytest.raises(AsrError, match="unknown encoder 'lstm9'"):
        CTCModel(ModelConfig(encoder="lstm9"), 80, 29)


@pytest.mark.parametrize("encoder", ["blstm", "gru"])
def test_batched_transcription_equals_one_by_one(encoder):
    from test_streaming import noise

    from asr.checkpoint import LoadedModel
    from asr.features import FeatureStats
    from asr.text import CharTokenizer
    from asr.transcribe import Transcriber

    torch.manual_seed(0)
    cfg = ModelConfig(encoder=encoder, hidden=16, layers=2)
    model = CTCModel(cfg, 80, 29).eval()
    with torch.no_grad():
        model.head.weight.mul_(10)
    config = Config(model=cfg)
    t = Transcriber(LoadedModel(model, config, CharTokenizer(), FeatureStats.identity(80)))
    long = 16000 * 25  # over asr.segment.MAX_SECONDS: cut into pieces, batched or not
    waves = [noise(n, seed=n) for n in (16000, 300, 5000, 40000, 1361, 24000, long)]
    batched = t.transcribe_batch(waves, batch_seconds=4.0)
    assert batched == [t.transcribe_wave(w) for w in waves]
    assert any(h.text for h in batched)
