"""Word confidence: how sure the model is of each word, and how well that score tells right
words from wrong ones (AUROC, reliability) on a manifest with references.

numpy only (jiwer for the scoring), so the onnxruntime path scores words the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import jiwer
import numpy as np

from asr.decoding import Hypothesis, Word, best_of, greedy_decode


def frame_confidence(log_probs) -> np.ndarray:
    """(T, V) log-probs (numpy or a CPU tensor) -> (T,) 1 - normalized entropy per frame:
    1 where one symbol (blank included) holds all the mass, 0 where it is spread evenly.
    Of the per-frame measures tried on dev.jsonl (best-symbol probability, entropy; spike
    frames only or the whole word) this one, taken at the word's least sure frame, told
    right words from wrong ones best (README, after the command table)."""
    lp = np.asarray(log_probs, dtype=np.float32)
    if lp.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    probs = np.exp(lp)
    entropy = -(probs * np.where(probs > 0, lp, 0.0)).sum(axis=-1)
    return np.clip(1.0 - entropy / math.log(lp.shape[-1]), 0.0, 1.0)


def word_confidences(
    hyp: Hypothesis,
    frame_conf: np.ndarray,
    frame_seconds: float,
    first_frame: int = 0,
    best_path: Hypothesis | None = None,
    calibration: Calibration | None = None,
) -> Hypothesis:
    """`hyp` with each word's confidence: the lowest frame confidence over its frames.

    `frame_conf[i]` belongs to frame `first_frame + i` (a stream keeps only its current
    utterance's). With a beam search's `hyp`, pass the greedy `best_path` over the same frames:
    the score is then multiplied by how closely the best path's letters there spell the word
    (normalized Levenshtein similarity), so a word the LM or the lexicon chose against the
    acoustics scores low, and a spelling it mended ("yu" -> "you") keeps most of its score.
    On dev.jsonl with the bundled LM this raised the AUROC of right against wrong words
    from 0.73 to 0.81; exact agreement alone gave 0.79. A model's `calibration` then maps
    the raw score to a probability of being right.
    """
    from rapidfuzz.distance import Levenshtein

    words = []
    for w in hyp.words:
        lo = max(round(w.start / frame_seconds) - first_frame, 0)
        hi = max(round(w.end / frame_seconds) - first_frame, lo + 1)
        span = frame_conf[lo:hi]
        score = float(span.min()) if len(span) else 0.0
        if best_path is not None:
            heard = "".join(g.word for g in best_path.words if _near(g, w, frame_seconds))
            score *= Levenshtein.normalized_similarity(heard, w.word)
        if calibration is not None:
            score = calibration.apply(score, beam=best_path is not None)
        words.append(replace(w, confidence=round(score, 4)))
    return Hypothesis(hyp.text, words)


def _near(heard: Word, chosen: Word, frame_seconds: float) -> bool:
    """Whether the best path's word overlaps the searched word, in frames, a one-frame word
    (a single spike, as most word pieces are) also when it is one frame off: the search may
    put a spike a frame from the best path's. Overlap alone scored 184 of 3,033 beam words
    0 on dev.jsonl with the word-piece model, 78% of them right."""
    frames = lambda w: (round(w.start / frame_seconds), round(w.end / frame_seconds))
    (h0, h1), (c0, c1) = frames(heard), frames(chosen)
    slack = 1 if min(h1 - h0, c1 - c0) <= 1 else 0
    return h0 < c1 + slack and c0 < h1 + slack


def _logistic(z):
    """1 / (1 + exp(-z)) for a number or an array, written with tanh: no overflow at any z
    (a fit's parameters on separable data can be huge)."""
    return 0.5 * (1 + np.tanh(0.5 * z))


CALIBRATION_KEY = "confidence_calibration"  # in a model file's header info (asr calibrate)
_EPS = 1e-3  # raw scores are clipped to [_EPS, 1 - _EPS] before the logit: 0 and 1 occur


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of the raw word score, one (a, b) per search: p = σ(a·logit(c) + b).

    Raw scores rank words well but are not probabilities (greedy words are right less often
    than they score, LM words more often); `asr calibrate` fits the two maps on a manifest
    with references so that a word scoring 0.8 is right about 80% of the time. Monotone,
    so the ranking (AUROC) is untouched. None for a search leaves its scores raw.
    """

    greedy: tuple[float, float] | None = None
    beam: tuple[float, float] | None = None

    def apply(self, score: float, beam: bool) -> float:
        params = self.beam if beam else self.greedy
        if params is None:
            return score
        c = min(max(score, _EPS), 1 - _EPS)
        return float(_logistic(params[0] * math.log(c / (1 - c)) + params[1]))

    @classmethod
    def from_info(cls, info: dict) -> Calibration | None:
        found = info.get(CALIBRATION_KEY)
        if not found:
            return None
        pair = lambda key: tuple(found[key]) if found.get(key) else None
        return cls(greedy=pair("greedy"), beam=pair("beam"))


def fit_calibration(scores, right) -> tuple[float, float]:
    """(a, b) of the logistic regression of `right` on logit(raw score): Newton's method on
    two parameters (a dependency for this would be heavier than the code)."""
    c = np.clip(np.asarray(scores, dtype=np.float64), _EPS, 1 - _EPS)
    x, y = np.log(c / (1 - c)), np.asarray(right, dtype=np.float64)
    if len(x) < 2 or y.min() == y.max():
        raise ValueError("calibration needs both right and wrong words")
    design = np.stack([x, np.ones_like(x)], axis=1)
    ridge = 1e-3  # a little ridge keeps separable data finite

    def loss(w):  # the penalized negative log-likelihood, computed without overflow
        z = design @ w
        return float(np.sum(np.logaddexp(0, z) - y * z) + 0.5 * ridge * w @ w)

    w = np.array([1.0, 0.0])
    for _ in range(100):
        p = _logistic(design @ w)
        grad = design.T @ (p - y) + ridge * w
        hess = design.T @ (design * (p * (1 - p))[:, None]) + ridge * np.eye(2)
        step = np.linalg.solve(hess, grad)
        # Damped: a full Newton step can overshoot and diverge (beam-search scores with a
        # lump at 0 did), so halve it until the loss falls.
        size, before = 1.0, loss(w)
        while loss(w - size * step) > before and size > 1e-6:
            size /= 2
        w -= size * step
        if np.abs(size * step).max() < 1e-9:
            break
    return float(w[0]), float(w[1])


def reliability_bins(scores, right, bins: int = 10) -> list[tuple[int, float, float]]:
    """Per equal-width score bin, lowest first: (words in it, their mean score, the fraction
    of them that are right); an empty bin is (0, nan, nan)."""
    scores, right = np.asarray(scores, dtype=np.float64), np.asarray(right, dtype=np.float64)
    which = np.minimum((scores * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        inside = which == b
        n = int(inside.sum())
        out.append((n, float(scores[inside].mean()), float(right[inside].mean())) if n
                   else (0, float("nan"), float("nan")))  # fmt: skip
    return out


def calibration_error(scores, right, bins: int = 10) -> float:
    """Expected calibration error: over equal-width score bins, the word-weighted mean gap
    between the mean score and the fraction of words that are right. 0 is calibrated."""
    if not len(scores):
        return float("nan")
    gap = sum(
        n * abs(mean - share) for n, mean, share in reliability_bins(scores, right, bins) if n
    )
    return float(gap / len(scores))


def scored_decode(
    log_probs,
    tokenizer,
    frame_seconds: float,
    beam=None,
    calibration=None,
    alternatives: int = 0,
    sureness=None,
):
    """(T', V) log-probs of one utterance -> hypothesis with word confidences: the greedy best
    path, or `beam`'s search checked against it; what the torch and ONNX paths both decode.
    `alternatives` > 0 (beam search only) lists that many best transcripts, each scored.
    `sureness`: other (T', V) log-probs to read the frame confidences from (`--adapt`)."""
    best_path = greedy_decode(log_probs, tokenizer, frame_seconds)
    frame_conf = frame_confidence(log_probs if sureness is None else sureness)
    if beam is None:
        return word_confidences(best_path, frame_conf, frame_seconds, calibration=calibration)
    return best_of(
        beam.nbest(log_probs, max(alternatives, 1)),
        lambda hyp: word_confidences(hyp, frame_conf, frame_seconds, best_path=best_path,
                                     calibration=calibration),
        alternatives,
    )  # fmt: skip


def right_words(reference: str, hypothesis: str) -> list[bool]:
    """Per hypothesis word, whether the WER alignment with `reference` counts it as a hit
    (not a substitution or an insertion). Both texts normalized already."""
    words = hypothesis.split()
    right = [False] * len(words)
    if not words or not reference.split():
        return right
    for chunk in jiwer.process_words(reference, hypothesis).alignments[0]:
        if chunk.type == "equal":
            right[chunk.hyp_start_idx : chunk.hyp_end_idx] = [True] * (
                chunk.hyp_end_idx - chunk.hyp_start_idx
            )
    return right


def auroc(scores, right) -> float:
    """Probability that a right word outscores a wrong one (ties count half); NaN without
    both kinds. 0.5 is a score that knows nothing, 1.0 one that ranks every right word first."""
    scores, right = np.asarray(scores, dtype=np.float64), np.asarray(right, dtype=bool)
    pos, neg = scores[right], scores[~right]
    if not len(pos) or not len(neg):
        return float("nan")
    below = np.searchsorted(np.sort(neg), pos, side="left")  # wrong words scoring lower
    ties = np.searchsorted(np.sort(neg), pos, side="right") - below
    return float((below + 0.5 * ties).sum() / (len(pos) * len(neg)))
