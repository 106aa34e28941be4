"""The CLI through typer's CliRunner and through a real `asr` subprocess."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES_DIR, bundled_samples, tone
from typer.testing import CliRunner

from asr.beam import lm_vocabulary
from asr.bundled import BUNDLED_LM, DEFAULT_MODEL
from cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_help_lists_each_command_by_its_whole_summary():
    result = runner.invoke(app, ["--help"], terminal_width=400, env={"COLUMNS": "400"})
    assert result.exit_code == 0
    listed = {line.strip(" │").split(None, 1)[0]: line.strip(" │").split(None, 1)[1].strip()
              for line in result.output.splitlines() if line.startswith("│ ")}  # fmt: skip
    assert {"transcribe", "eval", "train", "live"} <= set(listed)
    assert listed["eval"].endswith("error counts and real-time factor.")
    assert listed["serve"].endswith("captions the browser's microphone.")


@pytest.mark.xfail(
    strict=True,
    reason="issue 3 is open: the bundled model is under-trained (held-out-voice CER about 0.3) "
    "and hears sample3's 'bought' as 'got'; strict, so this fails once it reads all three right",
)
def test_transcribe_bundled_samples_gives_known_transcripts():
    samples = bundled_samples()
    assert len(samples) >= 2
    for sample in samples:
        result = run("transcribe", SAMPLES_DIR / sample["audio"])
        assert result.exit_code == 0, result.output
        assert result.output.strip() == sample["text"]


def library_texts(paths, bundled_lm: bool = True) -> list[str]:
    """What the library gives: the bundled model, with the bundled LM unless told not to."""
    from asr.beam import bundled_decoding
    from asr.transcribe import Transcriber

    transcriber = Transcriber.from_file(None, bundled_decoding() if bundled_lm else None)
    return [transcriber.transcribe_file(p).text for p in paths]


def test_bundled_model_decodes_with_the_bundled_lm_unless_no_lm():
    """The default is beam search with the bundled LM, --no-lm is greedy, and KenLM's loading
    chatter stays off stderr."""
    path = SAMPLES_DIR / bundled_samples()[0]["audio"]
    (with_lm,), (greedy,) = library_texts([path]), library_texts([path], bundled_lm=False)
    assert with_lm != greedy  # the LM turns misspellings into words: the test can tell
    proc = subprocess.run([sys.executable, "-m", "cli", "transcribe", str(path)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, with_lm, "")
    assert run("transcribe", path, "--no-lm").output.strip() == greedy
    assert set(with_lm.split()) <= set(lm_vocabulary(BUNDLED_LM))


def test_naming_a_bundled_model_keeps_the_bundled_lm(tmp_path):
    path = SAMPLES_DIR / bundled_samples()[0]["audio"]
    (with_lm,) = library_texts([path])
    assert run("transcribe", path, "--model", "default").output.strip() == with_lm
    other = tmp_path / "mine.safetensors"
    other.write_bytes(DEFAULT_MODEL.read_bytes())  # the same weights under a name of yours
    (greedy,) = library_texts([path], bundled_lm=False)
    assert run("transcribe", path, "--model", other).output.strip() == greedy


def test_lm_and_no_lm_together_is_an_error(tmp_path):
    result = run("transcribe", SAMPLES_DIR / "sample1.wav", "--no-lm", "--lm", tmp_path / "x")
    assert result.exit_code == 1
    assert result.output.strip() == "asr: error: --lm and --no-lm contradict each other"


def test_transcribe_several_files_prints_path_tab_text():
    paths = [SAMPLES_DIR / s["audio"] for s in bundled_samples()]
    result = run("transcribe", *paths)
    assert result.exit_code == 0
    lines = result.output.strip("\n").split("\n")
    assert [line.split("\t")[0] for line in lines] == [str(p) for p in paths]
    assert [line.split("\t")[1] for line in lines] == library_texts(paths)


def test_transcribe_json_has_words_with_times():
    sample = bundled_samples()[0]
    path = SAMPLES_DIR / sample["audio"]
    result = run("transcribe", "--json", path)
    record = json.loads(result.output)
    assert record["audio"] == str(path)
    assert record["text"] == library_texts([path])[0] != ""
    assert [w["word"] for w in record["words"]] == record["text"].split()
    starts = [w["start"] for w in record["words"]]
    assert starts == sorted(starts) and all(w["end"] > w["start"] for w in record["words"])
    assert record["words"][-1]["end"] <= sample["duration"] + 0.05
    assert all(0.0 <= w["conf"] <= 1.0 for w in record["words"])


def test_silence_is_an_empty_transcript_not_an_error(write_audio):
    path = write_audio("silence.wav", np.zeros(16000, dtype=np.float32))
    result = run("transcribe", path)
    assert result.exit_code == 0 and result.output.strip() == ""


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt", "text"])
def test_bad_audio_is_one_line_and_exit_1(tmp_path, write_audio, case):
    if case == "missing":
        path = tmp_path / "missing.wav"
    elif case == "empty":
        path = tmp_path / "empty.wav"
        path.touch()
    elif case == "corrupt":
        path = write_audio("corrupt.wav", tone(0.5))
        path.write_bytes(b"RIFF" + b"\xff" * 40)
    else:
        path = tmp_path / "notes.ogg"
        path.write_text("not audio")
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "transcribe", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"asr: error: {path}: ")
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_eval_json_stdout_is_one_json_object_for_pipes(tmp_path):
    """Progress goes to stderr, so `asr eval --json | jq` reads nothing but the result."""
    manifest = tmp_path / "m.jsonl"
    sample = bundled_samples()[0]
    manifest.write_text(json.dumps({**sample, "audio": str(SAMPLES_DIR / sample["audio"])}) + "\n")
    proc = subprocess.run([sys.executable, "-m", "cli", "eval", str(manifest), "--json"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 1
    assert json.loads(proc.stdout)["utterances"] == 1


def test_one_bad_file_does_not_lose_the_others(tmp_path):
    good = SAMPLES_DIR / bundled_samples()[0]["audio"]
    result = run("transcribe", tmp_path / "missing.wav", good)
    assert result.exit_code == 1
    assert f"{good}\t{library_texts([good])[0]}" in result.output


def test_missing_model_is_one_line(tmp_path):
    result = run("transcribe", "--model", tmp_path / "none.safetensors", SAMPLES_DIR / "x.wav")
    assert result.exit_code == 1
    assert (
        result.output.strip() == f"asr: error: {tmp_path / 'none.safetensors'}: no such model file"
    )


def test_eval_json_and_report(tmp_path):
    manifest = tmp_path / "m.jsonl"
    lines = [json.dumps({**s, "audio": str(SAMPLES_DIR / s["audio"])}) for s in bundled_samples()]
    manifest.write_text("\n".join(lines) + "\n")
    result = run("eval", manifest, "--json", "--report", tmp_path / "report.txt")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output.strip().splitlines()[-1])
    from asr.evaluate import score

    expected = score([s["text"] for s in bundled_samples()], library_texts(
        [SAMPLES_DIR / s["audio"] for s in bundled_samples()]))  # fmt: skip
    assert (scores["wer"], scores["cer"]) == (expected.wer, expected.cer)
    assert scores["utterances"] == len(lines) and scores["rtf"] > 0
    assert scores["words"] == sum(len(s["text"].split()) for s in bundled_samples())
    assert "REF:" in (tmp_path / "report.txt").read_text()
    assert 0.5 < scores["confidence_auroc"] <= 1.0  # right words mostly outscore wrong ones
    assert 0.0 <= scores["confidence_error"] < 1.0


def test_calibrate_writes_the_model_with_a_map_per_search(tmp_path):
    """The copy has the same weights; its words score the raw confidence mapped by the fit."""
    from asr.checkpoint import load_model
    from asr.confidence import Calibration
    from asr.transcribe import Transcriber

    out = tmp_path / "calibrated.safetensors"
    result = run("calibrate", SAMPLES_DIR / "samples.jsonl", "--out", out)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["greedy", "beam", str(out)]
    original, copy = load_model(None), load_model(out)
    assert all(torch_equal(a, b) for a, b in zip(original.model.state_dict().values(),
                                                 copy.model.state_dict().values()))  # fmt: skip
    calibration = Calibration.from_info(copy.info)
    assert calibration.greedy is not None and calibration.beam is not None

    path = SAMPLES_DIR / bundled_samples()[0]["audio"]
    raw_transcriber = Transcriber(original)
    raw_transcriber.calibration = None  # the bundled model carries a fit of its own
    raw = raw_transcriber.transcribe_file(path).words
    result = run("transcribe", path, "--model", out, "--no-lm", "--json")
    assert result.exit_code == 0, result.output
    calibrated = json.loads(result.output)["words"]
    assert [w.word for w in raw] == [w["word"] for w in calibrated]
    for before, after in zip(raw, calibrated):
        assert after["conf"] == pytest.approx(calibration.apply(before.confidence, False), abs=2e-3)


def torch_equal(a, b) -> bool:
    import torch

    return a.dtype == b.dtype and torch.equal(a, b)


def test_eval_malformed_manifest_names_the_line(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"audio": "a.wav", "text": "x", "duration": 1}\n{oops\n')
    result = run("eval", manifest)
    assert result.exit_code == 1
    assert result.output.startswith(f"asr: error: {manifest}:2: not valid JSON")


def test_eval_names_a_missing_recording_before_decoding_any(tmp_path):
    manifest = tmp_path / "m.jsonl"
    good = [json.dumps({**s, "audio": str(SAMPLES_DIR / s["audio"])}) for s in bundled_samples()]
    gone = json.dumps({"audio": "gone.wav", "text": "x", "duration": 1.0})
    manifest.write_text("\n".join([*good, gone]) + "\n")
    result = run("eval", manifest)
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == f"asr: error: {manifest}: {tmp_path / 'gone.wav'}: no such audio file"
    )


def test_train_unknown_config_key(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("model:\n  layerz: 2\n")
    result = run("train", config, "--train", "x.jsonl", "--valid", "x.jsonl", "--out", tmp_path)
    assert result.exit_code == 1
    assert "unknown config key 'model.layerz'" in result.output


def test_installed_entry_point_runs():
    proc = subprocess.run(["asr", "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "transcribe" in proc.stdout


def test_bundled_model_is_small_and_self_describing():
    from asr.beam import LM_TUNING_KEY
    from asr.checkpoint import load_model

    assert DEFAULT_MODEL.stat().st_size <= 20 * 1024 * 1024
    loaded = load_model()
    assert loaded.config.features.n_mels == 80
    # word pieces, their sentencepiece model inside the file, and the LM weights tuned for them
    assert loaded.tokenizer.kind == "bpe" and loaded.tokenizer.spell("seven")
    assert loaded.info[LM_TUNING_KEY]["tuned_on"] == "dev.jsonl"


def test_decoding_flags_left_unset_take_the_library_defaults(tmp_path):
    """The CLI has no defaults of its own for beam search: they are BeamOptions'."""
    from asr.beam import BeamOptions
    from cli import beam_options

    lm = tmp_path / "lm.arpa"
    assert beam_options(0, lm, None, None, None, None, None) == BeamOptions(lm=lm)
    assert beam_options(0, None, None, None, None, None, None) is None
    chosen = beam_options(8, lm, 0.3, 1.5, None, None, 2.0)
    assert (chosen.beam, chosen.lm_weight, chosen.word_bonus, chosen.hotword_bonus) == (
        8,
        0.3,
        1.5,
        2.0,
    )


@pytest.mark.parametrize("command", ["transcribe", "eval", "calibrate", "live", "serve"])
def test_every_decoding_command_takes_the_same_decoding_flags(command, monkeypatch):
    """Written once (cli.with_decoding_flags) and handed to the command as DecodingFlags."""
    import typer.main

    import cli

    names = {p.name for p in typer.main.get_command(app).commands[command].params}
    assert {f.name for f in dataclasses.fields(cli.DecodingFlags)} <= names
    seen = []
    monkeypatch.setattr(
        cli, "load_transcriber", lambda model, decoding, *_, **__: seen.append(decoding)
    )
    if command in ("transcribe", "eval"):
        run(command, "x.wav", "--beam", "4", "--vocab", "v.txt", "--word-bonus", "0.5", "--no-lm")
        expected = cli.DecodingFlags(beam=4, word_bonus=0.5, vocab=Path("v.txt"), no_lm=True)
        assert seen and seen[0] == expected


@pytest.mark.parametrize("command", ["transcribe", "eval", "calibrate", "live", "serve"])
@pytest.mark.parametrize(
    "flags, message",
    [
        (["--no-lm", "--lm-weight", "2"], "--lm-weight: needs a language model"),
        (["--model", "MODEL", "--word-bonus", "1"], "--word-bonus: needs a search over words"),
        (["--beam", "8", "--no-lm", "--lm-weight", "2"], "--lm-weight: needs a language model"),
        (["--beam", "8", "--no-lm", "--word-bonus", "1"], "--word-bonus: needs a search over"),
        (["--vocab", "VOCAB", "--no-lm", "--lm-weight", "2"], "--lm-weight: needs a language"),
        (["--hotword-bonus", "3"], "--hotword-bonus: needs --hotwords FILE"),
    ],
)
def test_a_weight_the_search_would_not_use_is_refused(command, flags, message, tmp_path,
                                                       monkeypatch):  # fmt: skip
    """Greedy decoding reads no weight, `--beam N` alone neither an LM weight nor a word
    bonus, --vocab without an LM no LM weight: one line each, before any work."""
    import asr.server

    monkeypatch.setattr(asr.server, "listening_socket", lambda *a: pytest.fail("listened"))
    vocab = tmp_path / "v.txt"
    vocab.write_text("one\ntwo\n")
    swap = {"MODEL": DEFAULT_MODEL, "VOCAB": vocab}  # a model file: no LM comes with it
    sample, manifest = SAMPLES_DIR / "sample1.wav", SAMPLES_DIR / "samples.jsonl"
    where = {"transcribe": [sample], "eval": [manifest], "live": ["--input", sample],
             "calibrate": [manifest, "--out", tmp_path / "c.safetensors"], "serve": []}  # fmt: skip
    result = run(command, *where[command], *[swap.get(f, f) for f in flags])
    assert result.exit_code == 1
    assert result.output.startswith(f"asr: error: {message}") and result.output.count("\n") == 1
    assert not (tmp_path / "c.safetensors").exists()


def test_transcribe_dash_reads_stdin():
    sample = SAMPLES_DIR / "sample2.flac"
    from_file = run("transcribe", sample, "--no-lm").output.strip()
    piped = runner.invoke(app, ["transcribe", "-", "--no-lm"], input=sample.read_bytes())
    assert piped.exit_code == 0, piped.output
    assert piped.output.strip() == from_file
