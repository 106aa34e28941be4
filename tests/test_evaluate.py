"""Scoring: jiwer's WER against NIST sclite on the same trn files, and edge cases."""

import json
import random
import re
import shutil
import subprocess

import numpy as np
import pytest

from asr.evaluate import score, write_trn
from asr.manifest import Utterance

WORDS = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far", "away", "in", "rain", "sun"]


def random_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """References and hypotheses with random substitutions, deletions and insertions."""
    rng = random.Random(seed)
    refs, hyps = [], []
    for _ in range(n):
        ref = [rng.choice(WORDS) for _ in range(rng.randint(0, 9))]
        hyp = []
        for word in ref:
            roll = rng.random()
            if roll < 0.1:
                continue  # deletion
            hyp.append(rng.choice(WORDS) if roll < 0.25 else word)
            if rng.random() < 0.08:
                hyp.append(rng.choice(WORDS))  # insertion
        refs.append(" ".join(ref))
        hyps.append(" ".join(hyp))
    return refs, hyps


def sclite_wer(trn_dir) -> float:
    out = subprocess.run(
        ["sctk", "sclite", "-r", str(trn_dir / "ref.trn"), "trn", "-h", str(trn_dir / "hyp.trn"),
         "trn", "-i", "rm", "-o", "sum", "stdout"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    row = next(line for line in out.splitlines() if "Sum/Avg" in line)
    numbers = [float(x) for x in re.findall(r"\d+\.?\d*", row.split("|")[3])]
    return numbers[4]  # Corr Sub Del Ins Err S.Err: Err is WER in percent


@pytest.mark.skipif(shutil.which("sctk") is None, reason="NIST SCTK (Debian sctk) not installed")
def test_jiwer_wer_equals_sclite(tmp_path):
    refs, hyps = random_pairs(60)
    utts = [Utterance(tmp_path / f"{i}.wav", r, 1.0, {"speaker": f"s{i % 4}"})
            for i, r in enumerate(refs)]  # fmt: skip
    write_trn(tmp_path, utts, refs, hyps)
    ours = score(refs, hyps)
    assert 0.1 < ours.wer < 0.6  # a fixture with every kind of error
    assert sclite_wer(tmp_path) == pytest.approx(100 * ours.wer, abs=0.05)


def test_counts_add_up():
    refs, hyps = random_pairs(40, seed=1)
    s = score(refs, hyps)
    assert s.words == sum(len(r.split()) for r in refs)
    assert s.wer == pytest.approx((s.substitutions + s.deletions + s.insertions) / s.words)


def test_normalization_before_scoring():
    assert score(["Hello, World! 2"], ["hello world two"]).wer == 0.0
    assert score([""], [""]).wer == 0.0 and score([""], ["uh"]).insertions == 1


def test_eval_writes_trn_and_alignment_plots(tmp_path):
    import soundfile as sf
    from test_streaming import noise, recognizer

    from asr.evaluate import evaluate_manifest
    from asr.manifest import write_manifest

    utts = []
    for i in range(3):
        sf.write(str(tmp_path / f"{i}.wav"), noise(8000 + 4000 * i, seed=i).numpy(), 16000)
        utts.append(Utterance(tmp_path / f"{i}.wav", "some words", 0.5, {"speaker": "x"}))
    write_manifest(tmp_path / "m.jsonl", utts)
    rec = recognizer("gru")
    scores = evaluate_manifest(rec, tmp_path / "m.jsonl", trn_dir=tmp_path / "trn",
                               plot_dir=tmp_path / "plots", plots=2)  # fmt: skip
    assert scores.utterances == 3 and scores.words == 6
    pngs = sorted((tmp_path / "plots").glob("*.png"))
    assert [p.name for p in pngs] == ["utt000_0.png", "utt001_1.png"]
    assert all(p.stat().st_size > 10_000 for p in pngs)
    hyp_lines = (tmp_path / "trn" / "hyp.trn").read_text().splitlines()
    assert len(hyp_lines) == 3 and hyp_lines[0].endswith("(x-utt000000)")


def test_plots_without_matplotlib_stop_before_any_decoding(tmp_path, monkeypatch):
    """A runtime-only install has no matplotlib: `--plot` fails up front, not after decoding."""
    import soundfile as sf

    from asr.evaluate import evaluate_manifest
    from asr.manifest import write_manifest

    sf.write(str(tmp_path / "a.wav"), np.zeros(8000, np.float32), 16000)
    write_manifest(tmp_path / "m.jsonl", [Utterance(tmp_path / "a.wav", "a", 0.5, {})])
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)  # as if not installed

    class Untouchable:  # any decoding would touch it
        def __getattr__(self, name):
            raise AssertionError(f"decoded ({name}) before finding matplotlib missing")

    with pytest.raises(ModuleNotFoundError, match="matplotlib"):
        evaluate_manifest(Untouchable(), tmp_path / "m.jsonl", plot_dir=tmp_path / "plots")


def test_group_scores_split_by_a_manifest_key_worst_first():
    from asr.evaluate import NO_GROUP, group_scores

    utts = [
        Utterance("a.wav", "", 1.0, {"speaker": "ann"}),
        Utterance("b.wav", "", 1.0, {"speaker": "bob"}),
        Utterance("c.wav", "", 1.0, {"speaker": "ann"}),
        Utterance("d.wav", "", 1.0, {}),
    ]
    refs = ["one two", "three four", "five six", "seven"]
    hyps = ["one two", "three for", "five", "seven"]
    groups = group_scores(utts, refs, hyps, "speaker")
    assert list(groups) == ["bob", "ann", NO_GROUP]  # WER 0.5, 0.25, 0
    assert (groups["ann"].utterances, groups["ann"].words, groups["ann"].deletions) == (2, 4, 1)
    assert groups["bob"].substitutions == 1 and groups[NO_GROUP].wer == 0.0
    total = score(refs, hyps)
    assert sum(g.words for g in groups.values()) == total.words
    assert sum(g.substitutions + g.deletions + g.insertions for g in groups.values()) == (
        total.substitutions + total.deletions + total.insertions
    )


def test_cli_eval_by_key_prints_one_row_per_value_and_refuses_an_absent_key(tmp_path):
    import soundfile as sf
    from typer.testing import CliRunner

    from asr.manifest import write_manifest
    from cli import app

    utts = []
    for i, speaker in enumerate(["ann", "bob", "ann"]):
        sf.write(str(tmp_path / f"{i}.wav"), 0.1 * np.sin(np.arange(8000) / 5.0), 16000)
        utts.append(Utterance(tmp_path / f"{i}.wav", "hello", 0.5, {"speaker": speaker}))
    write_manifest(tmp_path / "m.jsonl", utts)
    runner = CliRunner()
    result = runner.invoke(app, ["eval", str(tmp_path / "m.jsonl"), "--no-lm", "--by", "speaker"])
    assert result.exit_code == 0, result.output
    rows = result.output.strip().splitlines()[1:]
    assert rows[0].split()[0] == "speaker" and sorted(r.split()[0] for r in rows[1:]) == [
        "ann",
        "bob",
    ]
    assert {r.split()[0]: r.split()[4] for r in rows[1:]} == {"ann": "2", "bob": "1"}
    as_json = runner.invoke(
        app, ["eval", str(tmp_path / "m.jsonl"), "--no-lm", "--by", "speaker", "--json"]
    )
    assert set(json.loads(as_json.output)["groups"]) == {"ann", "bob"}
    plain = runner.invoke(app, ["eval", str(tmp_path / "m.jsonl"), "--no-lm", "--json"])
    assert "groups" not in json.loads(plain.output)
    absent = runner.invoke(app, ["eval", str(tmp_path / "m.jsonl"), "--no-lm", "--by", "age"])
    assert absent.exit_code == 1
    assert "m.jsonl: no utterance has the key 'age' to group by" in absent.output
