"""The bench scripts of this session run, and their plain figures agree with `asr eval`."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLES_DIR

from asr.checkpoint import load_model
from asr.evaluate import evaluate_manifest
from asr.transcribe import Transcriber

REPO = Path(__file__).resolve().parents[1]
MANIFEST = SAMPLES_DIR / "samples.jsonl"


def bench(script: str, *args: str, manifest: Path = MANIFEST) -> str:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / script), "--manifest",
                           str(manifest), *args],
                          capture_output=True, text=True, check=False, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def greedy_wer():
    return evaluate_manifest(Transcriber(load_model(None)), MANIFEST).wer


def test_speed_bench_at_speed_one_is_the_plain_greedy_wer(greedy_wer):
    out = bench("speed.py", "--speeds", "1.0", "0.9")
    found = dict(re.findall(r"speed (\d\.\d\d): WER (\d\.\d+)", out))
    assert set(found) == {"1.00", "0.90"}
    assert float(found["1.00"]) == pytest.approx(greedy_wer, abs=1e-4)


@pytest.mark.parametrize("options", [[], ["--adapt"], ["--adapt-speaker"]])
def test_test_time_bench_compares_the_options_with_plain_decoding(greedy_wer, options, tmp_path):
    one_speaker = tmp_path / "one_speaker.jsonl"  # --adapt-speaker tunes to named speakers
    lines = [json.loads(line) for line in MANIFEST.read_text().splitlines() if line.strip()]
    one_speaker.write_text("".join(json.dumps({**line, "audio": str(SAMPLES_DIR / line["audio"]),
                                               "speaker": "s"}) + "\n" for line in lines))  # fmt: skip
    out = bench("test_time.py", *options, manifest=one_speaker)
    shown = " ".join(options) or "--vtln"
    plain, searched, difference = re.search(
        rf"WER plain (\d\.\d+), {shown} (\d\.\d+): difference ([+-]\d\.\d+)", out
    ).groups()
    assert float(plain) == pytest.approx(greedy_wer, abs=1e-4)
    # each figure is rounded to 4 places: their difference may be 1.5e-4 off the printed one
    assert float(difference) == pytest.approx(float(searched) - float(plain), abs=2e-4)
    assert "RTF plain" in out


def test_alternatives_bench_never_finds_the_oracle_worse_than_the_first():
    out = bench("alternatives.py", "--n", "1", "3")
    rows = re.findall(r"N=(\d+): first WER (\d\.\d+), oracle WER (\d\.\d+)", out)
    assert [n for n, _, _ in rows] == ["1", "3"]
    (_, first1, oracle1), (_, first3, oracle3) = rows
    assert first1 == oracle1 == first3 and float(oracle3) <= float(first3)


def test_streaming_bench_measures_the_export_beside_torch():
    """--onnx adds rows for the exported model, fp32 and int8; the fp32 export hears what
    torch hears (same greedy words, so the same correctly recognized words are timed)."""
    out = bench("streaming.py", "--utts", "3", "--onnx")
    rows = re.findall(r"^(\S.*?)\s+\d+\.\d\dM\s+(\d\.\d{4})\s+(\d\.\d{4})", out, re.MULTILINE)
    labels = [re.search(r"\((onnx.*)\)$", name) for name, _, _ in rows]
    assert [m and m.group(1) for m in labels] == [None, "onnx", "onnx int8"], out
    assert all(float(stream) > 0 and float(offline) > 0 for _, stream, offline in rows)
    counts = re.findall(r"(\d+) correctly recognized words", out)
    assert len(counts) == 3 and counts[0] == counts[1] and int(counts[0]) > 0, out


def test_long_recordings_bench_leaves_a_short_recording_whole():
    """Three samples joined make a recording under 20 s, which `asr transcribe` decodes whole:
    the cut-at-pauses row must equal the one-piece row."""
    out = bench("long_recordings.py", "--recordings", "1", "--per-recording", "3")
    assert out.startswith("1 recording of 3 utterances"), out
    rows = dict(re.findall(r"^(\S.*?)\s+(\d\.\d{3}\s+\d\.\d{3})\s+\d\.\d{4}$", out, re.MULTILINE))
    assert set(rows) == {"one piece", "cut at pauses (asr transcribe)",
                         "cut at the true sentence ends"}, out  # fmt: skip
    assert rows["one piece"] == rows["cut at pauses (asr transcribe)"]
