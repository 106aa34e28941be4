"""Subtitles from word times: cue limits, line wrapping, SRT/WebVTT syntax, the CLI files."""

import re
from itertools import pairwise

import pytest
from conftest import SAMPLES_DIR, bundled_samples
from typer.testing import CliRunner

from asr.decoding import Word
from asr.subtitles import LINE_CHARS, MAX_SECONDS, make_cues, to_srt, to_vtt
from cli import app


def timed(text: str, start: float = 0.0, step: float = 0.4) -> list[Word]:
    return [Word(w, start + i * step, start + i * step + 0.3) for i, w in enumerate(text.split())]


def test_a_pause_starts_a_new_cue_and_times_come_from_the_words():
    words = timed("hello there") + timed("general kenobi", start=3.0)
    cues = make_cues(words)
    assert [c.lines for c in cues] == [["hello there"], ["general kenobi"]]
    assert (cues[0].start, cues[0].end) == (0.0, pytest.approx(0.7))
    assert (cues[1].start, cues[1].end) == (3.0, pytest.approx(3.7))


def test_cues_keep_within_two_balanced_lines_and_seven_seconds():
    text = " ".join(f"word{i}" for i in range(60))
    cues = make_cues(timed(text, step=0.35))
    assert " ".join(" ".join(c.lines) for c in cues) == text  # every word, in order
    for cue in cues:
        assert 1 <= len(cue.lines) <= 2 and all(len(line) <= LINE_CHARS for line in cue.lines)
        assert cue.end - cue.start <= MAX_SECONDS
        if len(cue.lines) == 2:
            assert abs(len(cue.lines[0]) - len(cue.lines[1])) <= 8  # balanced, not 42 + 3
    assert all(a.end <= b.start for a, b in pairwise(cues))


def test_srt_and_vtt_syntax():
    cues = make_cues(timed("one two") + timed("three", start=3661.5))
    assert to_srt(cues) == (
        "1\n00:00:00,000 --> 00:00:00,700\none two\n\n2\n01:01:01,500 --> 01:01:01,800\nthree\n"
    )
    assert to_vtt(cues) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:00.700\none two\n\n01:01:01.500 --> 01:01:01.800\nthree\n"
    )
    assert to_srt([]) == "" and to_vtt([]) == "WEBVTT\n\n"


def test_cli_writes_subtitles_beside_the_usual_output(tmp_path):
    sample = SAMPLES_DIR / bundled_samples()[1]["audio"]
    result = CliRunner().invoke(
        app, ["transcribe", str(sample), "--srt", str(tmp_path / "s"), "--vtt", str(tmp_path / "v")]
    )
    assert result.exit_code == 0, result.output
    text = result.output.strip()
    srt = (tmp_path / "s" / f"{sample.stem}.srt").read_text()
    vtt = (tmp_path / "v" / f"{sample.stem}.vtt").read_text()
    assert re.match(r"1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n", srt)
    assert vtt.startswith("WEBVTT\n\n")
    cue_text = [ln for ln in srt.splitlines() if ln and "-->" not in ln and not ln.isdigit()]
    assert " ".join(cue_text) == text


def test_cli_refuses_inputs_whose_subtitle_files_would_collide(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    sample = SAMPLES_DIR / "sample1.wav"
    for folder in ("a", "b"):
        (tmp_path / folder / "x.wav").write_bytes(sample.read_bytes())
    result = CliRunner().invoke(app, ["transcribe", str(tmp_path / "a" / "x.wav"),
                                      str(tmp_path / "b" / "x.wav"), "--srt", str(tmp_path / "s")])  # fmt: skip
    assert result.exit_code == 1
    assert "two inputs are named x" in result.output and not (tmp_path / "s").exists()


def test_a_word_longer_than_a_line_gets_a_line_of_its_own():
    long = "x" * (LINE_CHARS + 3)
    cues = make_cues([Word("a", 0.0, 0.5), Word(long, 0.5, 1.0), Word("b", 1.0, 1.3)])
    assert [c.lines for c in cues] == [["a", long], ["b"]]
    assert make_cues([Word(long, 0.0, 0.5), Word("b", 0.5, 1.0)])[0].lines == [long, "b"]
