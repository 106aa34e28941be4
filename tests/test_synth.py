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
    for voice in voices_for("heldout"):  # a Kokoro blend is held out for either of its voices
        assert {voice.speaker, f"{voice.engine}:{voice.variant}"} & HELD_OUT_VOICES


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


def test_the_held_out_sentences_are_fixed_whatever_the_pool(tmp_path):
    """The pool of sentences changes with package versions; the held-out set must not, or a
    rebuilt corpus holds out sentences an earlier model and its LM were trained on."""
    import importlib.util
    import random
    from pathlib import Path

    path = Path(__file__).parents[1] / "recipes/synth/local/make_text.py"
    spec = importlib.util.spec_from_file_location("make_text", path)
    make_text = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_text)
    heldout = ["Call me back at Seven.", "the cat sat"]
    for seed, extra in [(0, []), (5, [f"made up sentence {i}" for i in range(50)])]:
        pool = {"a": ["the cat sat", "a dog ran", *extra], "b": ["call me back at seven", "hi"]}
        out = tmp_path / str(seed)
        make_text.write_splits(pool, out, random.Random(seed), heldout)
        train = (out / "train.txt").read_text().split("\n")
        assert (out / "heldout.txt").read_text().split("\n")[:2] == [
            "call me back at seven",
            "the cat sat",
        ]
        assert "the cat sat" not in train and "call me back at seven" not in train
        assert {"a dog ran", "hi"} <= set(train)
    committed = make_text.HELDOUT_FILE.read_text().splitlines()
    assert len(committed) == 300 and len(set(committed)) == 300
