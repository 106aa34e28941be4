"""CTC decoding: best path (greedy) with word start and end times."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch-free importers (the ONNX runtime) use the pure-Python helpers
    import torch


@dataclass
class Word:
    word: str
    start: float  # seconds from the start of the audio
    end: float
    # 0-1, how sure the model is of this word (asr/confidence.py): the chance it is right
    # where the model carries a calibration (asr calibrate), else a raw score for ranking.
    # Left out of ==: streamed and offline posteriors differ in the last float bits.
    confidence: float | None = field(default=None, compare=False)

    def to_dict(self) -> dict:
        out = {"word": self.word, "start": round(self.start, 3), "end": round(self.end, 3)}
        if self.confidence is not None:
            out["conf"] = round(self.confidence, 3)
        return out

    def shifted(self, seconds: float) -> Word:
        """The same word `seconds` later (a piece's or an utterance's offset)."""
        return replace(self, start=self.start + seconds, end=self.end + seconds)


@dataclass
class Alternative:
    """One of the n best transcripts a beam search found (`asr transcribe --alternatives N`):
    what Vosk's alternatives and Coqui STT's candidate transcripts give, for a caller that
    matches them against its own list of expected phrases or asks the user to choose."""

    text: str
    words: list[Word]
    # The search's total log score (acoustics, LM weight x LM, word bonuses); None where
    # nothing was searched (digital silence). Scores rank alternatives of one recording only.
    score: float | None
    probability: float  # exp(score) as a share of the listed alternatives' sum

    def to_dict(self) -> dict:
        score = None if self.score is None else round(self.score, 3)
        return {"text": self.text, "score": score, "probability": round(self.probability, 4),
                "words": [w.to_dict() for w in self.words]}  # fmt: skip


def ranked_alternatives(found: list[tuple[Hypothesis, float]]) -> list[Alternative]:
    """(hypothesis, score) pairs, best first -> Alternatives whose probabilities are the
    softmax of the scores: how the search splits its belief among what it lists."""
    if not found:
        return []
    top = max(score for _, score in found)
    weights = [math.exp(score - top) for _, score in found]
    total = sum(weights)
    return [
        Alternative(hyp.text, hyp.words, score, weight / total)
        for (hyp, score), weight in zip(found, weights)
    ]


def best_of(found: list[tuple[Hypothesis, float]], scored, alternatives: int) -> Hypothesis:
    """A search's (hypothesis, score) pairs, best first -> its best, passed through `scored`
    (word confidences), listing `alternatives` > 0 of them, each scored alike. Nothing found
    is an empty hypothesis: what the offline and streaming searches both end with."""
    found = [(scored(hyp), score) for hyp, score in found] or [(scored(Hypothesis("")), 0.0)]
    best = found[0][0]
    if alternatives:
        best.alternatives = ranked_alternatives(found)
    return best


def silence_alternatives() -> list[Alternative]:
    """The one alternative of a recording that is all digital silence: nothing."""
    return [Alternative("", [], None, 1.0)]


@dataclass
class Hypothesis:
    text: str
    words: list[Word] = field(default_factory=list)
    # The n best transcripts, this one first, where they were asked for (alternatives=N).
    alternatives: list[Alternative] = field(default_factory=list, compare=False)


def greedy_decode(log_probs: torch.Tensor, tokenizer, frame_seconds: float) -> Hypothesis:
    """log_probs: (T, V) for one utterance (a tensor or a numpy array) -> text and word times.

    Best path: argmax per frame, merge repeats, drop blanks. A word starts at the frame of
    its first character and ends one frame after its last.
    """
    best = log_probs.argmax(-1).tolist()
    return words_from_tokens(collapse_path(best, tokenizer.blank_id), tokenizer, frame_seconds)


def collapse_path(
    best: list[int], blank_id: int, previous: int | None = None, first_frame: int = 0
) -> list[tuple[int, int]]:
    """Best token per frame -> (frame, token) emissions: merge repeats, drop blanks.

    A stream decoding chunk by chunk passes the best token of the frame before `best` as
    `previous` and that frame's successor as `first_frame`, so a repeat straddling a chunk
    edge merges exactly as it would offline.
    """
    before = [blank_id if previous is None else previous] + best[:-1]
    return [
        (first_frame + t, token)
        for t, (token, prev) in enumerate(zip(best, before))
        if token != blank_id and token != prev
    ]


def words_from_tokens(
    emitted: list[tuple[int, int]], tokenizer, frame_seconds: float
) -> Hypothesis:
    """(frame, token) pairs in time order -> words split at word-boundary tokens, with times."""
    words: list[Word] = []
    group: list[tuple[int, int]] = []
    for frame, token in emitted + [(-1, None)]:
        if token is None or tokenizer.is_word_boundary(token):
            if group:
                text = tokenizer.decode([tok for _, tok in group])
                start, end = group[0][0] * frame_seconds, (group[-1][0] + 1) * frame_seconds
                words.append(Word(text, start, end))
            group = []
        else:
            group.append((frame, token))
    return Hypothesis(" ".join(w.word for w in words), words)
