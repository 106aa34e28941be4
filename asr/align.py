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
# (2 GB, about 25 minutes of speech); a longer recording is aligned in pieces


def fits_at_once(frames: float, letters: int) -> bool:
    """Whether torchaudio's alignment table for this many frames and letters fits MAX_CELLS."""
    return frames * (2 * letters + 1) <= MAX_CELLS


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
    if not fits_at_once(frames, len(targets)):
        raise AlignmentError(
            f"{frames * frame_seconds / 60:.1f} min with {len(targets)} letters of transcript "
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
        return align_wave(transcriber, wave, text)
    except AlignmentError as err:
        raise AsrError(str(audio), str(err)) from None


def align_wave(transcriber, wave, text: str) -> Hypothesis:
    """A waveform and its transcript -> aligned words: in one piece where the alignment
    table fits MAX_CELLS, else piece by piece (`align_in_pieces`)."""
    letters = len(transcriber.loaded.tokenizer.encode(normalize_text(text)))
    frames = len(wave) / transcriber.settings.sample_rate / transcriber.frame_seconds
    if fits_at_once(frames, letters):
        return force_align(
            transcriber.log_probs(wave), transcriber.loaded.tokenizer, text,
            transcriber.frame_seconds,
        )  # fmt: skip
    return align_in_pieces(transcriber, wave, text)


def align_in_pieces(transcriber, wave, text: str) -> Hypothesis:
    """A recording too long to align at once: cut it at pauses as transcription does
    (asr/segment.py), recognize each piece, give each transcript word to the piece whose
    recognized word the WER alignment pairs it with (an unpaired word goes with the word
    before it), and force-align each piece's words there. A piece too short for its words
    is merged with the next one."""
    import jiwer
    import numpy as np

    from asr.segment import cut_points

    rate = transcriber.settings.sample_rate
    pieces = cut_points(np.asarray(wave), rate)
    piece_log_probs = [transcriber.log_probs(wave[a:b]) for a, b in pieces]
    heard = [transcriber.decode_log_probs(lp).text.split() for lp in piece_log_probs]
    words = normalize_text(text).split()
    if not words:
        raise AlignmentError("the transcript has no letters the model knows")
    piece_of_heard = [i for i, piece in enumerate(heard) for _ in piece]
    heard_text = " ".join(w for piece in heard for w in piece)
    owner: list[int | None] = [None] * len(words)
    if piece_of_heard:
        for chunk in jiwer.process_words(" ".join(words), heard_text).alignments[0]:
            if chunk.type in ("equal", "substitute"):
                for k in range(chunk.ref_end_idx - chunk.ref_start_idx):
                    owner[chunk.ref_start_idx + k] = piece_of_heard[chunk.hyp_start_idx + k]
    last = next((o for o in owner if o is not None), 0)
    for i, o in enumerate(owner):
        owner[i] = last = last if o is None else o
    aligned: list[Word] = []
    start = 0  # first piece of the current run (a piece too short for its words grows)
    for p, (_, end) in enumerate(pieces):
        mine = [w for w, o in zip(words, owner) if start <= o <= p]
        if not mine:
            start = p + 1
            continue
        begin = pieces[start][0]
        log_probs = piece_log_probs[p] if start == p else transcriber.log_probs(wave[begin:end])
        try:
            hyp = force_align(
                log_probs, transcriber.loaded.tokenizer, " ".join(mine), transcriber.frame_seconds
            )
        except AlignmentError:
            if p + 1 < len(pieces):
                continue  # merge with the next piece
            raise
        aligned += [w.shifted(begin / rate) for w in hyp.words]
        start = p + 1
    return Hypothesis(" ".join(w.word for w in aligned), aligned)


def align_manifest(
    transcriber, manifest, out, progress=None, drop_below: float | None = None
) -> list[tuple[float, object]]:
    """Align every utterance of `manifest`; write OUT as the same lines (audio made absolute)
    plus `words`, `align_score` and `align_min`, atomically, leaving out those whose
    align_score is under `drop_below` (a cleaned training manifest). An utterance that cannot
    be aligned (unreadable audio, too short for its transcript) scores 0 with its reason as
    `align_error`, and the run goes on. Returns (score, utterance, error or None) for all,
    worst first."""
    import json

    from asr.checkpoint import atomic_write
    from asr.errors import AsrError
    from asr.manifest import read_manifest
    from asr.outputs import output_file

    output_file(out)
    utterances = read_manifest(manifest)
    lines, scored = [], []
    for utt in utterances if progress is None else progress(utterances):
        entry = {**utt.extra, "audio": str(Path(utt.audio).resolve()), "text": utt.text}
        try:
            hyp, error = align_file(transcriber, utt.audio, utt.text), None
        except AsrError as err:
            hyp, error = Hypothesis(""), err
            entry["align_error"] = err.reason
        score = alignment_score(hyp)
        entry.update(duration=utt.duration, words=[w.to_dict() for w in hyp.words])
        entry["align_score"] = round(score, 4)
        entry["align_min"] = round(least_sure_word(hyp), 4)
        if drop_below is None or score >= drop_below:
            lines.append(json.dumps(entry, ensure_ascii=False))
        scored.append((score, utt, error))
    atomic_write(out, ("\n".join(lines) + "\n").encode("utf-8") if lines else b"")
    return sorted(scored, key=lambda pair: pair[0])
