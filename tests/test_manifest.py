import json
import subprocess
import sys

import pytest
from conftest import SAMPLES_DIR

from asr.errors import AsrError
from asr.manifest import Utterance, length_bucketed_batches, read_manifest, write_manifest


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_relative_absolute_and_nemo_keys(tmp_path):
    m = write_lines(tmp_path / "m.jsonl", [
        json.dumps({"audio": "a.wav", "text": "hi", "duration": 1.0, "speaker": "s1"}),
        json.dumps({"audio_filepath": "/abs/b.wav", "text": "yo", "duration": 2}),
        "",
    ])  # fmt: skip
    first, second = read_manifest(m)
    assert first.audio == tmp_path / "a.wav" and first.extra == {"speaker": "s1"}
    assert str(second.audio) == "/abs/b.wav" and second.duration == 2.0


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"text": "x", "duration": 1}', "missing 'audio'"),
        ('{"audio": "a.wav", "duration": 1}', "missing 'text'"),
        ('{"audio": "a.wav", "text": "x", "duration": "long"}', "'duration' must be"),
        ('{"audio": "a.wav", "text": "x", "duration": -1}', "'duration' must be"),
        ('{"audio": "a.wav", "text": "x", "duration": NaN}', "'duration' must be a finite"),
        ('{"audio": "a.wav", "text": "x", "duration": Infinity}', "'duration' must be a finite"),
        ('{"audio": "a.wav", "text": "x", "duration": 1e400}', "'duration' must be a finite"),
        ('{"audio": "a.wav", "text": "x", "duration": 1' + "0" * 400 + "}", "must be a finite"),
        (
            '{"audio_filepath": "x.wav", "text": "home", "offset": 1.8, "duration": 0.5}',
            "'offset' is not supported: cut the segment into its own file",
        ),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, bad, reason):
    good = json.dumps({"audio": "a.wav", "text": "ok", "duration": 1.0})
    m = write_lines(tmp_path / "m.jsonl", [good, good, bad])
    with pytest.raises(AsrError, match=reason) as err:
        read_manifest(m)
    assert err.value.where == f"{m}:3"


def test_a_zero_offset_is_the_whole_file_and_accepted(tmp_path):
    line = {"audio_filepath": "x.wav", "text": "home", "offset": 0, "duration": 0.5}
    (utt,) = read_manifest(write_lines(tmp_path / "m.jsonl", [json.dumps(line)]))
    assert (utt.audio, utt.duration, utt.extra) == (tmp_path / "x.wav", 0.5, {})


def test_a_byte_order_mark_is_accepted(tmp_path):
    m = tmp_path / "m.jsonl"
    line = json.dumps({"audio": "a.wav", "text": "hi", "duration": 1})
    m.write_text("\ufeff" + line + "\n", encoding="utf-8")  # as Notepad saves "UTF-8 with BOM"
    assert [u.text for u in read_manifest(m)] == ["hi"]


def test_bytes_that_are_not_utf8_name_line_byte_and_offset(tmp_path):
    data = (
        b'{"audio": "a.wav", "text": "ok", "duration": 1}\n{"audio": "b.wav", "text": "caf\xe9"}\n'
    )
    m = tmp_path / "m.jsonl"
    m.write_bytes(data)
    with pytest.raises(AsrError) as err:
        read_manifest(m)
    assert (err.value.where, err.value.reason) == (
        f"{m}:2",
        f"not UTF-8 text (byte 0xe9 at offset {data.index(0xE9)})",
    )


def test_cli_given_an_audio_file_as_manifest_says_so_in_one_line():
    wav = SAMPLES_DIR / "sample1.wav"
    proc = subprocess.run([sys.executable, "-m", "cli", "eval", str(wav), "--no-lm"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"asr: error: {wav}:1: not UTF-8 text (byte 0x")
    assert len(proc.stderr.splitlines()) == 1


def test_a_missing_duration_comes_from_the_audio_header(tmp_path):
    import numpy as np
    import soundfile as sf

    sf.write(tmp_path / "a.flac", np.zeros((12000, 2), dtype="float32"), 8000)
    m = write_lines(tmp_path / "m.jsonl", [json.dumps({"audio": "a.flac", "text": "hi"})])
    assert read_manifest(m)[0].duration == pytest.approx(1.5)


@pytest.mark.parametrize(
    "content, reason", [(None, "no such audio file"), (b"not audio", "cannot read audio header")]
)
def test_a_missing_duration_with_unreadable_audio_names_line_and_file(tmp_path, content, reason):
    if content is not None:
        (tmp_path / "a.wav").write_bytes(content)
    m = write_lines(tmp_path / "m.jsonl", [json.dumps({"audio": "a.wav", "text": "hi"})])
    with pytest.raises(AsrError, match=reason) as err:
        read_manifest(m)
    assert err.value.where == f"{m}:1"
    assert str(tmp_path / "a.wav") in str(err.value)


def test_missing_and_empty_manifest(tmp_path):
    with pytest.raises(AsrError, match="no such manifest"):
        read_manifest(tmp_path / "none.jsonl")
    with pytest.raises(AsrError, match="no utterances"):
        read_manifest(write_lines(tmp_path / "e.jsonl", [""]))


def test_write_then_read_round_trip(tmp_path):
    utts = [Utterance(tmp_path / "x" / "a.wav", "hello", 1.5, {"speaker": "7"})]
    write_manifest(tmp_path / "out.jsonl", utts)
    record = json.loads((tmp_path / "out.jsonl").read_text())
    assert record["audio"] == "x/a.wav"
    assert read_manifest(tmp_path / "out.jsonl")[0] == utts[0]


def test_batches_respect_budget_and_cover_everything():
    utts = [Utterance("a.wav", "t", d, {}) for d in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 5]
    batches = length_bucketed_batches(utts, batch_seconds=20, seed=1)
    assert sorted(i for b in batches for i in b) == list(range(len(utts)))
    for b in batches:
        assert max(utts[i].duration for i in b) * len(b) <= 20 or len(b) == 1
    assert batches != length_bucketed_batches(utts, batch_seconds=20, seed=2)
    assert batches == length_bucketed_batches(utts, batch_seconds=20, seed=1)
