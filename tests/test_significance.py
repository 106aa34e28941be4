"""Bootstrap intervals of the WER and the paired comparison of two models (asr/significance.py)."""

import json

import numpy as np
import pytest
from test_cli import run
from test_evaluate import random_pairs

from asr.evaluate import compare_scores, score
from asr.significance import MIN_SPEAKERS, compare, resampling_units, wer_interval


def test_speakers_are_resampled_only_where_every_utterance_names_one_of_enough():
    many = [f"s{i % MIN_SPEAKERS}" for i in range(3 * MIN_SPEAKERS)]
    units, unit = resampling_units(many)
    assert unit == "speaker" and len(set(units)) == MIN_SPEAKERS
    assert all(units[i] == units[i + MIN_SPEAKERS] for i in range(MIN_SPEAKERS))
    assert resampling_units(many[:-1] + [None])[1] == "utterance"
    few = ["a", "b"] * 20
    units, unit = resampling_units(few)
    assert unit == "utterance" and list(units) == list(range(40))


def test_the_interval_holds_the_wer_and_narrows_with_more_utterances():
    rng = np.random.default_rng(1)
    words = rng.integers(3, 12, 4000)
    errors = rng.binomial(words, 0.3)
    wer = errors.sum() / words.sum()
    small = wer_interval(errors[:200], words[:200], [None] * 200)
    large = wer_interval(errors, words, [None] * 4000)
    assert small.unit == large.unit == "utterance"
    assert large.low <= wer <= large.high
    assert 0 < large.high - large.low < (small.high - small.low) / 2  # ~1/sqrt(20) as wide
    assert wer_interval([0] * 50, [5] * 50, [None] * 50).to_list() == [0.0, 0.0]
    assert wer_interval([1], [4], [None]) is None  # one unit: nothing to resample
    assert wer_interval([0, 1], [0, 0], [None, None]) is None  # no reference words


def test_errors_that_go_with_speakers_widen_the_speaker_interval():
    """Half the speakers get everything wrong, half nothing: resampling utterances pretends
    the 400 utterances are independent; resampling the 20 speakers does not."""
    speakers = [f"s{i % 20}" for i in range(400)]
    errors = [5 if int(s[1:]) < 10 else 0 for s in speakers]
    by_speaker = wer_interval(errors, [5] * 400, speakers)
    by_utterance = wer_interval(errors, [5] * 400, [None] * 400)
    assert by_speaker.unit == "speaker"
    assert by_speaker.high - by_speaker.low > 2 * (by_utterance.high - by_utterance.low)


def test_paired_comparison_sees_a_consistent_small_gain_and_no_gain_in_a_tie():
    rng = np.random.default_rng(2)
    words = rng.integers(5, 15, 300)
    baseline = rng.binomial(words, 0.4)
    better = np.maximum(baseline - rng.binomial(1, 0.3, 300), 0)  # one error fewer, often
    found = compare(better, baseline, words, [None] * 300)
    assert found.difference < 0 and found.interval.high < 0 and found.better > 0.99
    same = compare(baseline, baseline, words, [None] * 300)
    assert (same.difference, same.interval.to_list(), same.better) == (0.0, [0.0, 0.0], 0.0)
    worse = compare(baseline, better, words, [None] * 300)
    assert worse.interval.low > 0 and worse.better < 0.01


def test_scores_carry_the_interval_and_compare_to_a_baseline():
    refs, hyps = random_pairs(300)
    speakers = [f"spk{i % 30}" for i in range(300)]
    scores = score(refs, hyps, speakers)
    record = scores.to_dict()
    low, high = record["wer_ci95"]
    assert record["ci_resampled"] == "speaker" and low <= scores.wer <= high
    assert sum(scores.tally.errors) == scores.substitutions + scores.deletions + scores.insertions
    assert sum(scores.tally.words) == scores.words
    assert "tally" not in record and "wer_ci95" not in score(refs, hyps).to_dict()
    perfect = score(refs, refs, speakers)
    versus = compare_scores(perfect, scores)
    assert versus["wer"] == scores.wer and versus["difference"] == -scores.wer
    assert versus["better"] == 1.0 and versus["difference_ci95"][1] < 0


def test_cli_eval_against_a_baseline(tmp_path):
    from conftest import SAMPLES_DIR

    manifest = SAMPLES_DIR / "samples.jsonl"
    out = run("eval", manifest, "--no-lm", "--baseline", "streaming", "--json")
    assert out.exit_code == 0, out.output
    record = json.loads(out.stdout)
    base = record["baseline"]
    assert base["model"] == "streaming"
    assert base["difference"] == pytest.approx(record["wer"] - base["wer"])
    assert base["ci_resampled"] == "utterance" and 0.0 <= base["better"] <= 1.0
    text = run("eval", manifest, "--no-lm", "--baseline", "default")
    assert text.exit_code == 0, text.output
    assert "difference +0.00 points" in text.stdout and "lower WER in 0.0% of" in text.stdout
    assert "95% CI" in text.stdout.splitlines()[0]


def test_cli_eval_baseline_lm_compares_decodings_of_one_model(tmp_path):
    from conftest import SAMPLES_DIR

    manifest = SAMPLES_DIR / "samples.jsonl"
    greedy = json.loads(run("eval", manifest, "--no-lm", "--json").stdout)
    out = run("eval", manifest, "--baseline-lm", "none", "--json")
    assert out.exit_code == 0, out.output
    record = json.loads(out.stdout)
    base = record["baseline"]
    assert base["model"] == "default" and base["lm"] == "none"
    assert base["wer"] == pytest.approx(greedy["wer"])  # the baseline decoded without the LM
    assert base["difference"] == pytest.approx(record["wer"] - greedy["wer"])
    report = tmp_path / "report.txt"
    missing = run("eval", manifest, "--baseline-lm", tmp_path / "nope.arpa", "--report", report)
    assert missing.exit_code != 0
    assert missing.output.strip() == f"asr: error: {tmp_path / 'nope.arpa'}: no such language model"
    assert not report.exists()  # refused before the model decoded anything


def test_cli_eval_text_says_why_a_comparison_has_no_interval(tmp_path):
    """One utterance, or no reference words, leave the bootstrap nothing to resample: the
    difference is printed alone, with the reason (as --json leaves the interval out)."""
    from conftest import SAMPLES_DIR, bundled_samples

    row = {**bundled_samples()[0], "audio": str(SAMPLES_DIR / bundled_samples()[0]["audio"])}
    one, silent = tmp_path / "one.jsonl", tmp_path / "silent.jsonl"
    one.write_text(json.dumps(row) + "\n")
    silent.write_text(2 * (json.dumps({**row, "text": ""}) + "\n"))
    for manifest, why in ((one, "one utterance"), (silent, "no reference words")):
        result = run("eval", manifest, "--no-lm", "--baseline-lm", "none")
        assert result.exit_code == 0, result.output
        last = result.stdout.splitlines()[-1]
        assert last.startswith("baseline default with LM none: WER ")
        assert last.endswith(f"; difference +0.00 points (no interval: {why})")


def test_cli_eval_lm_weights_go_with_the_lm_the_baseline_has_or_lacks(tmp_path):
    """`--baseline-lm none` decodes the baseline without the LM, so without the LM weight
    meant for the model's; a baseline that has no LM for it, unasked, is refused."""
    from conftest import SAMPLES_DIR, bundled_samples

    from asr.bundled import DEFAULT_MODEL

    row = {**bundled_samples()[0], "audio": str(SAMPLES_DIR / bundled_samples()[0]["audio"])}
    manifest = tmp_path / "one.jsonl"
    manifest.write_text(json.dumps(row) + "\n")
    greedy = json.loads(run("eval", manifest, "--no-lm", "--json").stdout)
    out = run("eval", manifest, "--lm-weight", "2", "--baseline-lm", "none", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["baseline"]["wer"] == pytest.approx(greedy["wer"])
    report = tmp_path / "report.txt"
    refused = run("eval", manifest, "--lm-weight", "2", "--baseline", DEFAULT_MODEL,
                  "--report", report)  # fmt: skip
    assert refused.exit_code == 1 and refused.output.count("\n") == 1
    assert refused.output.startswith(f"asr: error: --baseline {DEFAULT_MODEL} decodes without")
    assert "--lm-weight" in refused.output and not report.exists()
