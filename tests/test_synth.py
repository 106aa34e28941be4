"""Synthetic speech: held-out speakers stay out of training; timed speech has true word times."""

import shutil

import pytest
import soundfile
import torch

from asr.synth import HELD_OUT_VOICES, SynthesisError, synthesize_timed, voices_for
from asr.text import normalize_text


def test_held_out_speakers_never_reach_the_training_voices():
    train = voices_for("train")
    assert train, "no TTS voice installed"
    assert not {v.speaker for v in train} & HELD_OUT_VOICES
    assert all(v.speaker in HELD_OUT_VOICES for v in voices_for("heldout"))


@pytest.mark.skipif(shutil.which("festival") is None, reason="festival is not installed")
def test_timed_speech_word_times_bound_the_speech(tmp_path):
    text = "six zero nine one"
    wav = tmp_path / "timed.wav"
    words = synthesize_timed(text, wav)
    assert [normalize_text(w["word"]) for w in words] == text.split()
    ends = [w["end"] for w in words]
    assert ends == sorted(ends) and all(w["start"] < w["end"] for w in words)
    audio, rate = soundfile.read(str(wav), dtype="float32")
    assert rate == 16000
    audio = torch.from_numpy(audio)
    last_end = round(ends[-1] * rate)

    def rms(a: torch.Tensor) -> float:
        return float(a.pow(2).mean().sqrt())

    # Speech up to the last word's end, silence after it (the 0.5 s pad and the final pause).
    spoken = audio[round(words[0]["start"] * rate) : last_end]
    after = audio[last_end + rate // 20 :]
    assert len(after) >= rate // 2
    assert rms(spoken) > 30 * rms(after)
    # The last 50 ms before the end still carry the word: the end is not placed early.
    assert rms(audio[last_end - rate // 20 : last_end]) > 10 * rms(after)


@pytest.mark.skipif(shutil.which("festival") is None, reason="festival is not installed")
def test_timed_speech_refuses_text_festival_reads_as_other_words(tmp_path):
    # Festival spells out "sf" letter by letter: the word times would not match the text.
    with pytest.raises(SynthesisError, match="other words"):
        synthesize_timed("the sf file", tmp_path / "x.wav")
