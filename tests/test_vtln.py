"""Decoding with a vocal-tract-length warp search (`--vtln`, Transcriber(warps=...))."""

import numpy as np
import pytest
import torch
from conftest import SAMPLES_DIR
from test_cli import run

from asr.checkpoint import load_model
from asr.confidence import frame_confidence
from asr.features import VTLN_WARPS
from asr.transcribe import Transcriber


@pytest.fixture(scope="module")
def bundled():
    return load_model(None)


def test_the_search_keeps_the_warp_the_model_is_surest_of(bundled):
    wave = Transcriber(bundled).load_wave(SAMPLES_DIR / "sample1.wav")
    each = {w: Transcriber(bundled, warps=(w,)).log_probs(wave) for w in VTLN_WARPS}
    sureness = {w: float(frame_confidence(lp).mean()) for w, lp in each.items()}
    best = max(sureness, key=sureness.get)
    assert len({round(s, 4) for s in sureness.values()}) > 1, "the warps should differ"
    searched = Transcriber(bundled, warps=VTLN_WARPS).log_probs(wave)
    torch.testing.assert_close(searched, each[best], atol=1e-4, rtol=1e-4)
    plain = Transcriber(bundled).log_probs(wave)
    torch.testing.assert_close(each[1.0], plain, atol=1e-4, rtol=1e-4)


def test_batched_files_and_silence_go_through_the_search(bundled):
    searching = Transcriber(bundled, warps=VTLN_WARPS)
    wave = searching.load_wave(SAMPLES_DIR / "sample2.flac")
    silent, speech = searching.transcribe_batch([torch.zeros(16000), wave])
    assert silent.text == "" and speech == searching.transcribe_wave(wave)
    assert searching.log_probs(torch.zeros(100)).shape == (0, len(bundled.tokenizer))


def test_cli_vtln_transcribes_as_the_library_does():
    out = run("transcribe", SAMPLES_DIR / "sample3.ogg", "--vtln", "--no-lm")
    assert out.exit_code == 0, out.output
    expected = Transcriber.from_file(None, warps=VTLN_WARPS).transcribe_file(
        SAMPLES_DIR / "sample3.ogg"
    )
    assert out.stdout.strip() == expected.text
    noise = np.random.default_rng(0).normal(0, 0.1, 100).astype(np.float32)  # under one frame
    assert (
        Transcriber.from_file(None, warps=VTLN_WARPS).transcribe_wave(torch.from_numpy(noise)).text
        == ""
    )
