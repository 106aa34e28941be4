"""`asr tune-lm`: the LM weight and word bonus picked on a dev set travel in the model file
and are what the beam search uses unless a flag says otherwise."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from conftest import SAMPLES_DIR
from test_beam import ARPA, TOK, the_c_t, write
from test_cli import run

from asr.audio import load_audio
from asr.beam import DEFAULT_LM_WEIGHTS, LM_TUNING_KEY, BeamDecoder, BeamOptions
from asr.bundled import BUNDLED_LM, DEFAULT_MODEL
from asr.checkpoint import load_model
from asr.lm_tuning import tune_lm
from asr.manifest import read_manifest
from asr.transcribe import Transcriber


def test_unset_weights_come_from_the_model_file_else_the_defaults():
    tuned = {LM_TUNING_KEY: {"lm_weight": 0.5, "word_bonus": 2.0, "tuned_on": "dev.jsonl"}}
    plain = BeamOptions().for_model({})
    assert (plain.lm_weight, plain.word_bonus) == tuple(DEFAULT_LM_WEIGHTS.values())
    own = BeamOptions().for_model(tuned)
    assert (own.lm_weight, own.word_bonus) == (0.5, 2.0)
    flagged = BeamOptions(lm_weight=3.0).for_model(tuned)  # a flag beats the file
    assert (flagged.lm_weight, flagged.word_bonus) == (3.0, 2.0)
    with pytest.raises(Exception, match="--word-bonus: must be a finite number"):
        BeamOptions(word_bonus=float("nan"))


def test_a_reweighted_search_decodes_as_a_fresh_one_and_leaves_its_source_alone(tmp_path):
    lm = write(tmp_path, "lm.arpa", ARPA)
    weightless = BeamDecoder(TOK, BeamOptions(lm=lm, lm_weight=0.0, word_bonus=0.0), 0.04)
    assert weightless(the_c_t()).text == "the cot"  # the acoustics alone
    heavier = weightless.with_weights(1.0, 0.0)
    fresh = BeamDecoder(TOK, BeamOptions(lm=lm, lm_weight=1.0, word_bonus=0.0), 0.04)
    assert heavier(the_c_t()) == fresh(the_c_t())
    assert heavier(the_c_t()).text == "the cat"  # the LM's bigram wins the close call
    assert weightless(the_c_t()).text == "the cot"


def test_tune_lm_writes_the_best_point_into_the_model_and_decoding_uses_it(tmp_path):
    out = tmp_path / "tuned.safetensors"
    result = run("tune-lm", SAMPLES_DIR / "samples.jsonl", "--out", out,
                 "--lm-weights", "0,3", "--word-bonuses", "-1,4")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "lm_weight\tword_bonus\twer" and len(lines) == 6
    rows = [line.split("\t") for line in lines[1:5]]
    assert [(float(r[0]), float(r[1])) for r in rows] == [(0, -1), (0, 4), (3, -1), (3, 4)]
    wers = [float(r[2]) for r in rows]
    chosen = [r for r in rows if r[-1] == "<- chosen"]
    assert len(chosen) == 1 and float(chosen[0][2]) == min(wers)
    assert lines[-1].startswith(f"{out}: LM weight {chosen[0][0]}, word bonus {chosen[0][1]}")
    record = load_model(out).info[LM_TUNING_KEY]
    assert (record["lm_weight"], record["word_bonus"]) == (float(chosen[0][0]), float(chosen[0][1]))
    assert record["tuned_on"] == "samples.jsonl" and record["lm"] == BUNDLED_LM.name
    searching = Transcriber(load_model(out), BeamOptions(lm=BUNDLED_LM)).beam.options
    assert (searching.lm_weight, searching.word_bonus) == (
        record["lm_weight"],
        record["word_bonus"],
    )


def test_tune_lm_refuses_bad_grids_and_a_model_without_an_lm(tmp_path):
    manifest = SAMPLES_DIR / "samples.jsonl"
    out = tmp_path / "tuned.safetensors"
    result = run("tune-lm", manifest, "--out", out, "--lm-weights", "1,heavy")
    assert result.exit_code == 1 and not out.exists()
    assert (
        result.output
        == "asr: error: --lm-weights: must be numbers separated by commas, not '1,heavy'\n"
    )
    mine = shutil.copy(
        DEFAULT_MODEL, tmp_path / "mine.safetensors"
    )  # not bundled: no LM of its own
    result = run("tune-lm", manifest, "--out", out, "--model", mine)
    assert result.exit_code == 1 and not out.exists()
    assert result.output == f"asr: error: {mine}: tune-lm needs a language model (--lm FILE)\n"


def test_tune_lm_scores_long_recordings_and_silence_as_asr_eval_decodes_them(tmp_path):
    """Over 20 s `asr eval` cuts a recording at pauses and leaves digital silence empty; the
    grid must score that decoding, or its weights are tuned for one that is never used."""
    rate = 16000
    gap = np.zeros(rate // 2, dtype=np.float32)
    utterances = read_manifest(SAMPLES_DIR / "samples.jsonl")
    samples = [load_audio(u.audio, rate).numpy() for u in utterances]
    texts = [u.text for u in utterances]
    long_wave = np.concatenate([part for _ in range(4) for s in samples for part in (s, gap)])
    assert len(long_wave) > 20 * rate
    sf.write(tmp_path / "long.wav", long_wave, rate)
    sf.write(tmp_path / "hush.wav", np.zeros(rate * 2, dtype=np.float32), rate)
    manifest = tmp_path / "long.jsonl"
    lines = [
        {"audio": "long.wav", "text": " ".join(texts * 4)},
        {"audio": "hush.wav", "text": texts[0]},
    ]
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    tuning = tune_lm(None, manifest, tmp_path / "t.safetensors", BeamOptions(lm=BUNDLED_LM),
                     lm_weights=(1.2,), word_bonuses=(0.5,))  # fmt: skip
    greedy = json.loads(run("eval", manifest, "--no-lm", "--json").output)
    searched = json.loads(run("eval", manifest, "--lm-weight", "1.2", "--word-bonus", "0.5",
                              "--json").output)  # fmt: skip
    assert tuning.greedy_wer == pytest.approx(greedy["wer"], abs=1e-4)
    assert tuning.points[0].wer == pytest.approx(searched["wer"], abs=1e-4)
