"""Forced alignment: a known transcript's word times and confidences, its failures, and
`asr align` for one recording or a whole manifest."""

import json

import pytest
import torch
from conftest import SAMPLES_DIR, bundled_samples
from test_cli import run
from test_decoding import TOK, log_probs_for

from asr.align import AlignmentError, alignment_score, force_align, least_sure_word
from asr.decoding import greedy_decode


def test_the_spoken_transcript_aligns_where_greedy_decoding_puts_it():
    log_probs = log_probs_for(list("__hi__|__yo_") + ["_"] * 3)
    hyp = force_align(log_probs, TOK, "Hi, yo!", 0.04)
    assert hyp.text == "hi yo"
    greedy = greedy_decode(log_probs, TOK, 0.04)
    assert [(w.start, w.end) for w in hyp.words] == [(w.start, w.end) for w in greedy.words]
    assert all(w.confidence == pytest.approx(1.0, abs=1e-3) for w in hyp.words)
    assert alignment_score(hyp) == pytest.approx(1.0, abs=1e-3)


def test_a_transcript_the_audio_does_not_say_scores_low():
    log_probs = log_probs_for(list("__hi__|__yo_") + ["_"] * 3)
    wrong = force_align(log_probs, TOK, "ha yo", 0.04)
    ha, yo = wrong.words
    assert ha.confidence < 0.01 and yo.confidence == pytest.approx(1.0, abs=1e-3)
    assert least_sure_word(wrong) < 0.01 < alignment_score(wrong) < 0.6


def test_double_letters_need_a_blank_between_them():
    log_probs = log_probs_for(list("_hel_lo__"))
    hyp = force_align(log_probs, TOK, "hello", 0.04)
    assert hyp.text == "hello" and hyp.words[0].confidence == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(AlignmentError, match="too short for 5 letters"):
        force_align(log_probs[:5], TOK, "hello", 0.04)  # 5 frames, 5 letters + 1 repeat
    with pytest.raises(AlignmentError, match="no letters"):
        force_align(log_probs, TOK, "¿ ?", 0.04)


@pytest.fixture(scope="module")
def sample():
    return bundled_samples()[1]  # the one the bundled model reads right


def test_cli_aligns_a_recording_and_writes_subtitles(sample, tmp_path):
    transcript = tmp_path / "t.txt"
    transcript.write_text(sample["text"].capitalize() + ".\n")
    result = run("align", SAMPLES_DIR / sample["audio"], transcript, "--srt", tmp_path / "subs")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert [w["word"] for w in record["words"]] == sample["text"].split()
    starts = [w["start"] for w in record["words"]]
    assert starts == sorted(starts) and record["words"][-1]["end"] <= sample["duration"] + 0.05
    other = tmp_path / "other.txt"
    other.write_text(bundled_samples()[0]["text"])
    wrong = json.loads(run("align", SAMPLES_DIR / sample["audio"], other).output)
    assert wrong["score"] < 0.1 < record["score"]
    srt = tmp_path / "subs" / (SAMPLES_DIR / sample["audio"]).with_suffix(".srt").name
    assert sample["text"].split()[0] in srt.read_text()


def test_cli_aligns_a_manifest_and_lists_transcripts_that_do_not_fit(tmp_path):
    rows = bundled_samples()
    rows[0] = {**rows[0], "text": rows[2]["text"]}  # a transcript of another recording
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(
        json.dumps({**r, "audio": str(SAMPLES_DIR / r["audio"])}) + "\n" for r in rows
    ))  # fmt: skip
    out = tmp_path / "out" / "aligned.jsonl"  # its folder is made
    result = run("align", manifest, "--out", out)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"aligned 3 utterances -> {out}; 1 score under 0.05 (kept)"
    assert lines[1].split("\t")[1] == str(SAMPLES_DIR / rows[0]["audio"])
    aligned = [json.loads(line) for line in out.read_text().splitlines()]
    assert [a["text"] for a in aligned] == [r["text"] for r in rows]
    assert all(a["voice"] == r["voice"] for a, r in zip(aligned, rows))  # other keys kept
    assert aligned[0]["align_score"] < 0.05 < aligned[1]["align_score"]
    assert all(a["align_min"] <= a["align_score"] for a in aligned)
    assert [w["word"] for w in aligned[1]["words"]] == rows[1]["text"].split()
    cleaned = tmp_path / "clean.jsonl"
    result = run("align", manifest, "--out", cleaned, "--drop")
    summary = f"aligned 3 utterances -> {cleaned}; 1 score under 0.05 (left out)"
    assert result.stdout.splitlines()[0] == summary
    kept = [json.loads(line) for line in cleaned.read_text().splitlines()]
    assert [k["text"] for k in kept] == [r["text"] for r in rows[1:]]


@pytest.mark.parametrize(
    "args, message",
    [
        (["m.jsonl"], "a manifest is aligned with --out FILE"),
        (["a.wav"], "give the transcript file"),
        (["SAMPLE", "missing.txt"], "missing.txt: no such transcript file"),
        (["SAMPLE", "LONG"], "too short for"),
    ],
)
def test_cli_align_errors_are_one_line(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "long.txt").write_text("word " * 200)
    sample = SAMPLES_DIR / bundled_samples()[1]["audio"]
    args = [str(sample) if a == "SAMPLE" else "long.txt" if a == "LONG" else a for a in args]
    result = run("align", *args)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and message in result.output
    assert result.output.startswith("asr: error: ")


@pytest.mark.parametrize(
    "args, message",
    [
        (["MANIFEST", "--out", "o.jsonl", "--srt", "subs"], "--srt: only when aligning one "),
        (["MANIFEST", "--out", "o.jsonl", "--vtt", "subs"], "--vtt: only when aligning one "),
        (["SAMPLE", "t.txt", "--out", "o.jsonl"], "--out: only when aligning a manifest"),
        (["SAMPLE", "t.txt", "--below", "0"], "--below: only when aligning a manifest"),
        (["SAMPLE", "t.txt", "--drop"], "--drop: only when aligning a manifest"),
        (["SAMPLE", "t.txt", "--srt", "taken"], "taken: is a file; expected a folder"),
    ],
)
def test_cli_align_refuses_what_its_mode_would_ignore_before_aligning(
    args, message, tmp_path, monkeypatch
):
    """--srt/--vtt are one recording's, --out/--below/--drop a manifest's; a subtitle folder
    is checked before the model is loaded (loading it here fails the test)."""
    import asr.transcribe

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(asr.transcribe.Transcriber, "from_file", lambda *a: pytest.fail("load"))
    (tmp_path / "t.txt").write_text("hello")
    (tmp_path / "taken").write_text("a file where the subtitle folder would go")
    swap = {"MANIFEST": SAMPLES_DIR / "samples.jsonl", "SAMPLE": SAMPLES_DIR / "sample1.wav"}
    result = run("align", *[swap.get(a, a) for a in args])
    assert result.exit_code == 1
    assert result.output.startswith("asr: error: ") and result.output.count("\n") == 1
    assert message in result.output
    assert not (tmp_path / "o.jsonl").exists() and not (tmp_path / "subs").exists()


def test_a_recording_too_long_to_align_at_once_is_refused(monkeypatch):
    import asr.align

    log_probs = log_probs_for(list("_hel_lo__"))  # 9 frames x (2 x 5 letters + 1) = 99 cells
    monkeypatch.setattr(asr.align, "MAX_CELLS", 99)
    assert force_align(log_probs, TOK, "hello", 0.04).text == "hello"
    monkeypatch.setattr(asr.align, "MAX_CELLS", 98)
    with pytest.raises(AlignmentError, match="to align at once; cut it into parts"):
        force_align(log_probs, TOK, "hello", 0.04)


def test_a_long_recording_is_aligned_in_pieces_close_to_one_piece(monkeypatch):
    """Over MAX_CELLS the recording is cut at pauses, each transcript word goes to the piece
    where the recognizer heard it, and each piece is aligned: times close to one piece's."""
    import numpy as np

    import asr.align
    from asr.audio import load_audio
    from asr.transcribe import Transcriber

    transcriber = Transcriber.from_file("default")
    samples = bundled_samples()
    waves, texts = [], []
    for _ in range(4):  # ~30 s: long enough to be cut (asr/segment.py)
        for s in samples:
            waves += [load_audio(SAMPLES_DIR / s["audio"], 16000), torch.zeros(8000)]
            texts.append(s["text"])
    wave, text = torch.cat(waves), " ".join(texts)
    whole = asr.align.align_wave(transcriber, wave, text)
    monkeypatch.setattr(asr.align, "MAX_CELLS", 300_000)  # the whole: ~660,000; a piece fits
    calls, in_pieces = [], asr.align.align_in_pieces
    monkeypatch.setattr(asr.align, "align_in_pieces", lambda *a: calls.append(1) or in_pieces(*a))
    pieces = asr.align.align_wave(transcriber, wave, text)
    assert calls == [1]
    assert pieces.text == whole.text == " ".join(text.split())
    ends = np.array([[a.end, b.end] for a, b in zip(whole.words, pieces.words)])
    assert np.median(np.abs(ends[:, 0] - ends[:, 1])) < 0.05
    assert all(a.start < a.end <= b.start + 1e-6 for a, b in zip(pieces.words, pieces.words[1:]))


def test_cli_manifest_alignment_goes_on_past_utterances_it_cannot_align(tmp_path):
    """A corrupt recording or a transcript too long for its audio is one line on stderr and a
    score of 0 in the output (left out with --drop); the others are aligned; exit 1."""
    rows = bundled_samples()
    lines = [{**r, "audio": str(SAMPLES_DIR / r["audio"])} for r in rows]
    lines[0] = {**lines[0], "text": "word " * 200}  # too long for 2.4 s of audio
    (tmp_path / "bad.wav").write_bytes(b"RIFF not really a wave file")
    lines.append({"audio": str(tmp_path / "bad.wav"), "text": "lost", "duration": 1.0})
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "out.jsonl"
    result = run("align", manifest, "--out", out)
    assert result.exit_code == 1
    assert (
        result.stdout.splitlines()[0] == f"aligned 4 utterances -> {out}; 2 score under 0.05 (kept)"
    )
    errors = [line for line in result.stderr.splitlines() if line]  # less the progress bar
    assert (
        len(errors) == 2 and "too short for" in errors[0] and "bad.wav: cannot decode" in errors[1]
    )
    assert all(e.startswith("asr: error: ") for e in errors)
    aligned = [json.loads(line) for line in out.read_text().splitlines()]
    assert [a["align_score"] > 0 for a in aligned] == [False, True, True, False]
    assert "too short" in aligned[0]["align_error"] and "align_error" not in aligned[1]
    run("align", manifest, "--out", out, "--drop")
    assert [json.loads(line)["text"] for line in out.read_text().splitlines()] == [
        r["text"] for r in rows[1:]
    ]
