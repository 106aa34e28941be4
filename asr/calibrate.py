"""`asr calibrate`: fit a model's word-confidence calibration on a manifest with references
and write a copy of the model file that carries it (asr.confidence.Calibration).

Greedy and beam-search scores are spread differently, so each search gets its own map; the
beam map is fitted under the decoding options given (for the bundled model, its LM).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import track

from asr.audio import load_audio
from asr.beam import BeamOptions
from asr.checkpoint import copy_with_info, load_model
from asr.confidence import (
    CALIBRATION_KEY,
    Calibration,
    auroc,
    calibration_error,
    fit_calibration,
    right_words,
)
from asr.errors import AsrError
from asr.manifest import read_checked_manifest
from asr.outputs import output_file
from asr.text import normalize_text
from asr.transcribe import Transcriber

_STDERR = Console(stderr=True)  # stdout carries the figures


@dataclass
class Fit:
    """One search's calibration and how it scores on the words it was fitted to."""

    search: str  # "greedy" or "beam"
    params: tuple[float, float]
    words: int
    right: float  # fraction of words that are right
    auroc: float
    error_before: float  # expected calibration error of the raw scores
    error_after: float


def word_scores(transcriber: Transcriber, utterances, label: str) -> tuple[list, list]:
    """Every hypothesis word's raw confidence and whether the reference bears it out."""
    scores, right = [], []
    rate = transcriber.settings.sample_rate
    for utt in track(utterances, description=label, transient=True, console=_STDERR):
        hyp = transcriber.transcribe_wave(load_audio(utt.audio, rate))
        scores += [w.confidence for w in hyp.words]
        right += right_words(normalize_text(utt.text), hyp.text)
    return scores, right


def fit_search(transcriber: Transcriber, utterances, search: str) -> Fit:
    transcriber.calibration = None  # fit on raw scores
    scores, right = word_scores(transcriber, utterances, f"decoding ({search})")
    try:
        params = fit_calibration(scores, right)
    except ValueError as err:
        raise AsrError(search, f"cannot calibrate: {err} ({len(scores)} words decoded)") from None
    mapping = Calibration(**{search: params})
    calibrated = [mapping.apply(s, beam=search == "beam") for s in scores]
    return Fit(
        search, params, len(scores), sum(right) / len(right), auroc(scores, right),
        calibration_error(scores, right), calibration_error(calibrated, right),
    )  # fmt: skip


def calibrate(
    model: str | Path | None,
    manifest: str | Path,
    out: str | Path,
    beam: BeamOptions | None,
    max_utts: int = 0,
) -> list[Fit]:
    """Fit greedy (and, with `beam`, beam-search) calibration on `manifest` (its first
    `max_utts` utterances if set); write `out`, which may be `model` itself."""
    output_file(out)
    utterances = read_checked_manifest(manifest)
    utterances = utterances[:max_utts] if max_utts else utterances
    loaded = load_model(model)
    fits = [fit_search(Transcriber(loaded), utterances, "greedy")]
    if beam is not None:
        fits.append(fit_search(Transcriber(loaded, beam), utterances, "beam"))
    by_search = {f.search: list(f.params) for f in fits}
    record = {
        "greedy": by_search["greedy"],
        "beam": by_search.get("beam"),
        "fitted_on": Path(manifest).name,
        "words": {f.search: f.words for f in fits},
    }
    copy_with_info(model, out, **{CALIBRATION_KEY: record})
    return fits
