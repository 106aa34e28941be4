"""Output destinations and numeric flags: a bad one is one line before any work, and an
OSError that slips past the checks is still one line, never a traceback."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import SAMPLES_DIR
from typer.testing import CliRunner

from asr.errors import AsrError
from asr.outputs import output_file, output_folder
from cli import app

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()
SAMPLES = SAMPLES_DIR / "samples.jsonl"
SAMPLE = SAMPLES_DIR / "sample1.wav"


def test_output_folder_is_made_with_its_parents_and_a_file_there_is_refused(tmp_path):
    assert output_folder(tmp_path / "a" / "b").is_dir()
    (tmp_path / "f").write_text("x")
    with pytest.raises(AsrError, match="is a file; expected a folder") as err:
        output_folder(tmp_path / "f")
    assert err.value.where == str(tmp_path / "f")


def test_output_file_gets_its_folder_and_refuses_a_folder_or_a_file_as_parent(tmp_path):
    path = output_file(tmp_path / "new" / "report.txt")
    assert path.parent.is_dir() and not path.exists()
    with pytest.raises(AsrError, match="is a folder; expected a file name"):
        output_file(tmp_path / "new")
    (tmp_path / "f").write_text("x")
    with pytest.raises(AsrError, match="is a file, not a folder"):
        output_file(tmp_path / "f" / "report.txt")


def test_a_flag_taken_as_a_name_is_refused_before_any_work(tmp_path, monkeypatch):
    """`--srt --json`: click gives --srt the value "--json"; without the check the transcript
    went to stdout as plain text and a folder named --json appeared."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["transcribe", str(SAMPLE), "--srt", "--json"])
    assert result.exit_code == 1, result.output
    assert result.output == (
        "asr: error: --json: looks like an option, not a name to write "
        "(to mean that name, give its full path)\n"
    )
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(AsrError, match="looks like an option"):
        output_file("-o")
    assert output_folder(tmp_path / "-named").is_dir()


def test_train_refuses_a_flag_taken_as_its_folder(tmp_path, monkeypatch):
    """`--out --resume` gave --out the value "--resume" and trained into a folder of that name."""
    monkeypatch.chdir(tmp_path)
    config, manifest = str(REPO / "configs" / "gru.yaml"), str(SAMPLES)
    args = ["train", config, "--train", manifest, "--valid", manifest, "--out", "--resume"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("asr: error: --resume: looks like an option")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["eval", SAMPLES, "--no-lm", "--report", "{dir}"], "is a folder; expected a file"),
        (["eval", SAMPLES, "--no-lm", "--trn", "{file}"], "is a file; expected a folder"),
        (["eval", SAMPLES, "--no-lm", "--plot", "{file}"], "is a file; expected a folder"),
        (["transcribe", SAMPLES_DIR / "sample1.wav", "--ctm", "{dir}"], "is a folder"),
        (["transcribe", SAMPLES_DIR / "sample1.wav", "--vtt", "{file}"], "is a file"),
        (["adapt", SAMPLES_DIR / "sample1.wav", "--out", "{dir}"], "is a folder"),
        (["calibrate", SAMPLES, "--out", "{dir}"], "is a folder"),
        (["align", SAMPLES, "--out", "{dir}"], "is a folder"),
        (["export", "--out", "{file}"], "is a file"),
        (["train", "configs/gru.yaml", "--train", SAMPLES, "--valid", SAMPLES, "--out", "{file}"],
         "is a file; expected a folder for the training run"),
    ],
)  # fmt: skip
def test_a_bad_destination_is_one_line(tmp_path, args, message):
    (tmp_path / "taken").write_text("keep me")
    (tmp_path / "folder").mkdir()
    places = {"{dir}": str(tmp_path / "folder"), "{file}": str(tmp_path / "taken")}
    result = runner.invoke(app, [places.get(str(a), str(a)) for a in args])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("asr: error: ") and message in result.output
    assert result.output.count("\n") == 1
    assert (tmp_path / "taken").read_text() == "keep me"
    assert list((tmp_path / "folder").iterdir()) == []


def test_an_unforeseen_os_error_names_its_file_in_one_line(tmp_path):
    (tmp_path / "taken").write_text("x")
    recordings = tmp_path / "fsdd" / "recordings"
    recordings.mkdir(parents=True)
    for speaker in ("jackson", "lucas", "george"):  # one for each split
        sf.write(str(recordings / f"3_{speaker}_0.wav"), np.zeros(4000, np.float32), 8000)
    result = runner.invoke(
        app, ["prepare", "fsdd", str(tmp_path / "fsdd"), str(tmp_path / "taken")]
    )
    assert result.exit_code == 1
    assert result.output.startswith(f"asr: error: {tmp_path / 'taken'}")
    assert result.output.count("\n") == 1


def test_a_closed_pipe_ends_quietly():
    """`asr ... | head`: the reader leaves early; no traceback, the shell's SIGPIPE status."""
    code = (
        "import typer\nfrom cli import user_errors\n"
        "@user_errors\ndef command():\n    while True:\n        typer.echo('x' * 1000)\n"
        "try:\n    command()\nexcept typer.Exit as e:\n    raise SystemExit(e.exit_code)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=REPO)  # fmt: skip
    process.stdout.read(10)
    process.stdout.close()
    assert process.wait(timeout=60) == 141
    assert process.stderr.read() == b""


@pytest.mark.parametrize(
    "args, message",
    [
        (["live", "--input", SAMPLE, "--chunk-ms", "0"], "--chunk-ms: must be positive, not 0"),
        (["live", "--input", SAMPLE, "--endpoint-ms", "-1"], "--endpoint-ms: must be positive"),
        (["serve", "--max-connections", "0"], "--max-connections: must be at least 1, not 0"),
        (["serve", "--idle-timeout", "-1"], "--idle-timeout: must be positive, not -1"),
        (["serve", "--endpoint-ms", "0"], "--endpoint-ms: must be positive, not 0"),
        (["align", SAMPLES, "--out", "{out}", "--below", "5"], "--below: must be from 0 to 1"),
        (["transcribe", SAMPLE, "--lm-weight", "inf"], "--lm-weight: must be a finite number"),
        (["transcribe", SAMPLE, "--word-bonus", "nan"], "--word-bonus: must be a finite number"),
    ],
)
def test_a_numeric_flag_out_of_range_is_one_line_before_any_work(tmp_path, args, message):
    out = tmp_path / "aligned.jsonl"
    result = runner.invoke(app, [str(out) if a == "{out}" else str(a) for a in args])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("asr: error: ") and message in result.output
    assert result.output.count("\n") == 1
    assert not out.exists()
