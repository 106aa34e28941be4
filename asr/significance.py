"""How far a WER can be trusted: bootstrap intervals, and whether one model beats another.

A WER on a few hundred utterances would be points away had other sentences or speakers been
drawn. Resampling the test set with replacement (Bisani and Ney, "Bootstrap estimates for
confidence intervals in ASR performance evaluation", ICASSP 2004) shows how far. Errors of
one speaker's utterances go together (an accent, a microphone), so where a manifest names
enough speakers, whole speakers are resampled; else utterances, and the interval then
speaks for these speakers only. It says nothing of training's randomness: two seeds of the
FSDD digit recipe are 4.4 points apart on george, outside the interval of their difference
(README, "How far to trust a figure"). numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95
MIN_SPEAKERS = 10  # fewer: resample utterances (a handful of speakers gives a wild interval)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    unit: str  # what was resampled: "speaker" or "utterance"

    def to_list(self) -> list[float]:
        return [round(self.low, 4), round(self.high, 4)]


def resampling_units(speakers: Sequence[str | None]) -> tuple[np.ndarray, str]:
    """Per utterance, the index of the unit it is resampled with, and the unit's name:
    its speaker where every utterance names one and there are MIN_SPEAKERS or more."""
    named = set(speakers)
    if None not in named and len(named) >= MIN_SPEAKERS:
        index = {s: i for i, s in enumerate(sorted(named))}
        return np.array([index[s] for s in speakers]), "speaker"
    return np.arange(len(speakers)), "utterance"


def _resampled_totals(values: np.ndarray, units: np.ndarray, seed: int) -> np.ndarray:
    """(columns of per-utterance counts) -> (RESAMPLES, columns) totals over resampled units."""
    per_unit = np.zeros((units.max() + 1, values.shape[1]))
    np.add.at(per_unit, units, values)
    drawn = np.random.default_rng(seed).integers(0, len(per_unit), (RESAMPLES, len(per_unit)))
    return per_unit[drawn].sum(axis=1)


def _bounds(samples: np.ndarray) -> tuple[float, float]:
    tail = 100 * (1 - LEVEL) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def wer_interval(
    errors: Sequence[int], words: Sequence[int], speakers: Sequence[str | None], seed: int = 0
) -> Interval | None:
    """95% percentile-bootstrap interval of the WER sum(errors) / sum(words); None where there
    is nothing to resample (no words, or one unit)."""
    units, unit = resampling_units(speakers)
    if sum(words) == 0 or units.max(initial=0) == 0:
        return None
    totals = _resampled_totals(np.column_stack([errors, words]).astype(float), units, seed)
    wers = totals[:, 0] / np.maximum(totals[:, 1], 1)
    return Interval(*_bounds(wers), unit)


@dataclass(frozen=True)
class Comparison:
    difference: float  # WER of the model minus the baseline's: negative is better
    interval: Interval  # of the difference
    better: float  # the share of resamples in which the model's WER is below the baseline's


def compare(
    errors: Sequence[int],
    baseline_errors: Sequence[int],
    words: Sequence[int],
    speakers: Sequence[str | None],
    seed: int = 0,
) -> Comparison | None:
    """Matched-pairs bootstrap of two models' errors on the same utterances: both are
    resampled together, so what the test set's sentences share cancels out, and a gain the
    total hides (or one it only seems to show) comes to light. None without words."""
    units, unit = resampling_units(speakers)
    if sum(words) == 0 or units.max(initial=0) == 0:
        return None
    counts = np.column_stack([errors, baseline_errors, words]).astype(float)
    totals = _resampled_totals(counts, units, seed)
    diffs = (totals[:, 0] - totals[:, 1]) / np.maximum(totals[:, 2], 1)
    difference = (sum(errors) - sum(baseline_errors)) / sum(words)
    return Comparison(difference, Interval(*_bounds(diffs), unit), float((diffs < 0).mean()))
