"""Test-time adaptation (`--adapt`, Transcriber(adapt=...)): weights tuned to each utterance."""

import math

import pytest
import torch
from conftest import SAMPLES_DIR
from test_cli import run

from asr.adapt import AdaptOptions, adaptation_loss, adapted_log_probs, class_confusion
from asr.checkpoint import load_model
from asr.confidence import frame_confidence
from asr.transcribe import Transcriber

FEW_STEPS = AdaptOptions(steps=3)


@pytest.fixture(scope="module")
def bundled():
    return load_model(None)


@pytest.fixture(scope="module")
def sample_feats(bundled):
    wave = Transcriber(bundled).load_wave(SAMPLES_DIR / "sample1.wav")
    return Transcriber(bundled).heard(wave)  # (normalized features, stored-weight log-probs)


def test_class_confusion_is_zero_when_no_two_symbols_share_a_frame():
    one_hot = torch.eye(5)[[0, 1, 1, 3, 4]]
    assert float(class_confusion(one_hot)) == pytest.approx(0.0)
    uniform = torch.full((6, 5), 0.2)
    assert float(class_confusion(uniform)) == pytest.approx(4 / 5)


def test_the_loss_reads_letter_frames_only():
    blank_sure = torch.log(torch.tensor([[0.9, 0.05, 0.05]] * 4))
    letters_torn = torch.log(torch.tensor([[0.1, 0.45, 0.45]] * 4))
    plain = AdaptOptions(confusion_weight=0.0, temperature=1.0)
    assert float(adaptation_loss(blank_sure, 0, plain)) == 0.0
    expected = -(0.1 * math.log(0.1) + 2 * 0.45 * math.log(0.45))
    assert float(adaptation_loss(letters_torn, 0, plain)) == pytest.approx(expected, rel=1e-5)


def test_tuning_lowers_the_objective_and_leaves_the_model_untouched(bundled, sample_feats):
    feats, stored = sample_feats
    before = {k: v.clone() for k, v in bundled.model.state_dict().items()}
    tuned = adapted_log_probs(bundled.model, feats, bundled.tokenizer.blank_id, FEW_STEPS)
    assert tuned.shape == stored.shape and not tuned.requires_grad
    assert adaptation_loss(tuned, 0, FEW_STEPS) < adaptation_loss(stored, 0, FEW_STEPS)
    for name, value in bundled.model.state_dict().items():
        torch.testing.assert_close(value, before[name], atol=0, rtol=0)


def test_tuning_never_swaps_weights_into_the_shared_model(bundled, sample_feats):
    """functional_call puts the weights it is given into the modules it runs: on the shared
    model, a thread decoding with it meanwhile would use half-tuned weights."""
    from asr.adapt import adapted_model

    feats, _ = sample_feats
    head, stored = bundled.model.head, bundled.model.head.weight
    runs = []  # (the shared model's own head?, with its stored weight?) per forward pass
    hook = head.register_forward_hook(
        lambda module, args, out: runs.append((module is head, module.weight is stored))
    )
    try:
        adapted_log_probs(bundled.model, feats, bundled.tokenizer.blank_id, FEW_STEPS)
        tuned = adapted_model(bundled.model, [feats], bundled.tokenizer.blank_id, FEW_STEPS)
    finally:
        hook.remove()
    assert len(runs) == 2 * FEW_STEPS.steps + 1  # every pass ran, and on a copy
    assert (True, False) not in runs
    assert head.weight is stored and tuned.head.weight is not stored


def test_no_steps_decode_the_stored_weights(bundled, sample_feats):
    feats, stored = sample_feats
    same = adapted_log_probs(bundled.model, feats, 0, AdaptOptions(steps=0))
    torch.testing.assert_close(same, stored, atol=1e-5, rtol=1e-5)


def test_each_utterance_starts_again_from_the_stored_weights(bundled):
    tuning = Transcriber(bundled, adapt=FEW_STEPS)
    first, second = (tuning.load_wave(SAMPLES_DIR / n) for n in ("sample1.wav", "sample2.flac"))
    alone = tuning.transcribe_wave(second)
    tuning.transcribe_wave(first)
    assert tuning.transcribe_wave(second) == alone
    # batches (run under inference mode) go one by one through the same tuning
    silent, batched = tuning.transcribe_batch([torch.zeros(16000), second])
    assert silent.text == "" and batched == alone


def test_words_are_scored_by_the_stored_weights(bundled):
    tuning = Transcriber(bundled, adapt=FEW_STEPS)
    wave = tuning.load_wave(SAMPLES_DIR / "sample3.ogg")
    tuned, sureness = tuning.posteriors(wave)
    torch.testing.assert_close(sureness, Transcriber(bundled).log_probs(wave))
    assert frame_confidence(tuned).mean() > frame_confidence(sureness).mean()
    confidences = [w.confidence for w in tuning.transcribe_wave(wave).words]
    assert confidences == [w.confidence for w in tuning.decode_log_probs(tuned, sureness).words]
    overconfident = [w.confidence for w in tuning.decode_log_probs(tuned).words]
    assert len(overconfident) == len(confidences) and sum(overconfident) > sum(confidences)


def test_cli_adapt_transcribes_as_the_library_does():
    out = run("transcribe", SAMPLES_DIR / "sample2.flac", "--adapt", "--no-lm")
    assert out.exit_code == 0, out.output
    expected = Transcriber.from_file(None, adapt=AdaptOptions()).transcribe_file(
        SAMPLES_DIR / "sample2.flac"
    )
    assert out.stdout.strip() == expected.text != ""


def test_adapt_refuses_a_beam_search(bundled):
    from asr.beam import BeamOptions

    with pytest.raises(ValueError, match="greedy only"):
        Transcriber(bundled, BeamOptions(beam=4), adapt=FEW_STEPS)
    out = run("transcribe", SAMPLES_DIR / "sample2.flac", "--adapt")  # the bundled LM is on
    assert out.exit_code == 1
    assert out.stderr.startswith("asr: error: --adapt is for greedy decoding")
    assert out.stderr.count("\n") == 1
