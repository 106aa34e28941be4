"""Forced alignment: where each word of a known transcript is spoken (CTC, torchaudio).

For subtitles from a script, word times for a corpus, and finding transcripts that do not
match their audio: each word gets the posterior of its least sure letter as `confidence`.
An utterance's `align_score` is the mean over its words: on dev.jsonl under 0.05 for 79% of
transcripts of another utterance and 8% of the right ones. Its least sure word (`align_min`)
ranks better a transcript with one wrong word (AUROC 0.87 against 0.69) but is low for many
right transcripts too, since the model misspells accented words (bench/align.py).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import torch
import torchaudio.functional as F

from asr.decoding import Hypothesis, Word
from asr.text import normalize_text

MAX_CELLS = 2_000_000_000  # frames x (2 x letters + 1): torchaudio keeps a byte per cell
# (2 GB, about 25 minutes of speech); a longer recording should be cut with its transcript


class AlignmentError(ValueError):
    """The transcript cannot be aligned to this audio (the CLI adds the file's name)."""


def force_align(log_probs: torch.Tensor, tokenizer, text: str, frame_seconds: float) -> Hypothesis:
    """(T, V) CTC log-probs and the transcript -> its words with start/end times and confidences.

    The best CTC path that spells exactly the transcript (letters outside the model's
    alphabet dropped); a word spans its first letter's first frame to its last letter's last.
    """
    targets = tokenizer.encode(normalize_text(text))
    if not any(not tokenizer.is_word_boundary(t) for t in targets):
        raise AlignmentError("the transcript has no letters the model knows")
    repeats = sum(1 for a, b in itertools.pairwise(targets) if a == b)
    frames = log_probs.shape[0]
    if frames < len(targets) + repeats:
        raise AlignmentError(
            f"{frames * frame_seconds:.2f} s of audio is too short for "
            f"{len(targets)} letters of transcript"
        )
    if frames * (2 * len(targets) + 1) > MAX_CELLS:
        raise AlignmentError(
            f"{frames * frame_seconds / 60:.0f} min with {len(targets)} letters of transcript "
            f"would take over {MAX_CELLS / 1e9:.0f} GB to align at once; cut it into parts"
        )
    path, scores = F.forced_align(
        log_probs[None].float(), torch.tensor([targets], dtype=torch.int32),
        blank=tokenizer.blank_id,
    )  # fmt: skip
    spans = F.merge_tokens(path[0], scores[0])
    peaks = [float(scores[0, s.start : s.end].max().exp()) for s in spans]
    words, letters = [], []
    for span, peak in [*zip(spans, peaks), (None, None)]:
        if span is None or tokenizer.is_word_boundary(span.token):
            if letters:
                text_ = tokenizer.decode([s.token for s, _ in letters])
                start, end = letters[0][0].start, letters[-1][0].end
                confidence = round(min(p for _, p in letters), 4)
                words.append(Word(text_, start * frame_seconds, end * frame_seconds, confidence))
            letters = []
        else:
            letters.append((span, peak))
    return Hypothesis(" ".join(w.word for w in words), words)


def alignment_score(hyp: Hypothesis) -> float:
    """Mean word confidence: near 1 where the audio says the transcript, low where it does not."""
    return sum(w.confidence for w in hyp.words) / len(hyp.words) if hyp.words else 0.0


def least_sure_word(hyp: Hypothesis) -> float:
    """The lowest word confidence: where a transcript with one wrong word shows it."""
    return min((w.confidence for w in hyp.words), default=0.0)


def align_file(transcriber, audio, text: str) -> Hypothesis:
    """One recording and its transcript -> aligned words; AsrError names the file."""
    from asr.audio import load_audio
    from asr.errors import AsrError

    wave = load_audio(audio, transcriber.settings.sample_rate)
    try:
        return force_align(
            transcriber.log_probs(wave), transcriber.loaded.tokenizer, text,
            transcriber.frame_seconds,
        )  # fmt: skip
    except AlignmentError as err:
        raise AsrError(str(audio), str(err)) from None


def align_manifest(transcriber, manifest, out, progress=None) -> list[tuple[float, object]]:
    """Align every utterance of `manifest`; write OUT as the same lines (audio made absolute)
    plus `words` and `align_score`, atomically. Returns (score, utterance), worst first."""
    import json

    from asr.checkpoint import atomic_write
    from asr.manifest import read_manifest

    utterances = read_manifest(manifest)
    lines, scored = [], []
    for utt in utterances if progress is None else progress(utterances):
        hyp = align_file(transcriber, utt.audio, utt.text)
        score = alignment_score(hyp)
        entry = {**utt.extra, "audio": str(Path(utt.audio).resolve()), "text": utt.text}
        entry.update(duration=utt.duration, words=[w.to_dict() for w in hyp.words])
        entry["align_score"] = round(score, 4)
        entry["align_min"] = round(least_sure_word(hyp), 4)
        lines.append(json.dumps(entry, ensure_ascii=False))
        scored.append((score, utt))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, ("\n".join(lines) + "\n").encode("utf-8") if lines else b"")
    return sorted(scored, key=lambda pair: pair[0])
