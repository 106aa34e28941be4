"""NIST CTM output: one line per word, the times and confidences the JSON carries."""

import json

from conftest import SAMPLES_DIR, bundled_samples
from typer.testing import CliRunner

from asr.ctm import ctm_lines
from asr.decoding import Word
from cli import app


def test_ctm_lines_give_start_duration_word_and_confidence():
    words = [Word("hello", 0.24, 0.6, 0.91234), Word("there", 0.72, 1.0)]
    assert ctm_lines("rec", words) == ["rec 1 0.24 0.36 hello 0.912", "rec 1 0.72 0.28 there"]


def test_a_recording_name_with_spaces_stays_one_field(tmp_path):
    words = [Word("hi", 0.5, 0.75)]
    assert ctm_lines("my  talk\tpart 2", words) == ["my_talk_part_2 1 0.50 0.25 hi"]
    audio = tmp_path / "my talk.wav"
    audio.write_bytes((SAMPLES_DIR / "sample1.wav").read_bytes())
    ctm = tmp_path / "out.ctm"
    result = CliRunner().invoke(app, ["transcribe", str(audio), "--no-lm", "--ctm", str(ctm)])
    assert result.exit_code == 0, result.output
    lines = ctm.read_text().splitlines()
    assert lines and all(len(line.split()) == 6 and line.startswith("my_talk 1 ") for line in lines)
    twin = tmp_path / "my_talk.flac"  # the same name in the CTM file: refused
    twin.write_bytes(audio.read_bytes())
    clash = CliRunner().invoke(app, ["transcribe", str(audio), str(twin), "--ctm", str(ctm)])
    assert clash.exit_code == 1 and "two inputs are named my_talk" in clash.output


def test_cli_ctm_holds_every_files_words_and_goes_on_past_a_bad_file(tmp_path):
    samples = [SAMPLES_DIR / s["audio"] for s in bundled_samples()[:2]]
    ctm = tmp_path / "out.ctm"
    args = ["transcribe", *map(str, samples), str(tmp_path / "gone.wav"), "--no-lm"]
    result = CliRunner().invoke(app, [*args, "--json", "--ctm", str(ctm)])
    assert result.exit_code == 1  # the missing file, reported; the others are written
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    expected = [
        f"{p.stem} 1 {w['start']:.2f} {w['end'] - w['start']:.2f} {w['word']} {w['conf']:.3f}"
        for p, record in zip(samples, records)
        for w in record["words"]
    ]
    assert expected and ctm.read_text().splitlines() == expected


def test_cli_refuses_inputs_whose_ctm_names_would_collide(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.wav").write_bytes((SAMPLES_DIR / "sample1.wav").read_bytes())
    result = CliRunner().invoke(app, ["transcribe", str(tmp_path / "a" / "x.wav"),
                                      str(tmp_path / "b" / "x.wav"), "--ctm", str(tmp_path / "o")])  # fmt: skip
    assert result.exit_code == 1
    assert "two inputs are named x" in result.output and not (tmp_path / "o").exists()
