"""`asr tune-lm`: pick a model's LM weight and word bonus on a dev manifest and write a copy of
the model file that carries them, as Kaldi, ESPnet and icefall users tune their LM scales.

Why in the model file: the right weights belong to the model as much as to the LM. A
word-piece model emits fewer, surer units than a letter model, so the LM must weigh less
against it (on dev.jsonl the bundled letter weights, 1.5 and -1, cost word pieces 10 WER
points). Flags still override them (`--lm-weight`, `--word-bonus`).

The model hears each utterance once; each grid point is one more beam search over the
stored log-probs, so a grid of 20 costs 20 searches, not 20 evaluations.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from asr.beam import LM_TUNING_KEY, BeamDecoder, BeamOptions
from asr.checkpoint import copy_with_info, load_model
from asr.errors import AsrError
from asr.evaluate import score
from asr.manifest import read_checked_manifest
from asr.outputs import output_file
from asr.segment import join_texts
from asr.text import normalize_text
from asr.transcribe import Transcriber

_STDERR = Console(stderr=True)  # stdout carries the figures

LM_WEIGHTS = (0.5, 0.8, 1.0, 1.5, 2.0)
WORD_BONUSES = (-2.0, -1.0, 0.0, 1.0)


@dataclass(frozen=True)
class GridPoint:
    lm_weight: float
    word_bonus: float
    wer: float


@dataclass
class Tuning:
    """The grid searched, the greedy WER beside it, and the point chosen (lowest WER; the
    first of equals, in the order given)."""

    greedy_wer: float
    points: list[GridPoint]
    utterances: int

    @property
    def best(self) -> GridPoint:
        return min(self.points, key=lambda p: p.wer)


def tune_lm(
    model: str | Path | None,
    manifest: str | Path,
    out: str | Path,
    beam: BeamOptions,
    lm_weights=LM_WEIGHTS,
    word_bonuses=WORD_BONUSES,
    max_utts: int = 0,
) -> Tuning:
    """WER on `manifest` (its first `max_utts` utterances if set) at each LM weight and word
    bonus of the grid, with `beam`'s LM, beam and vocabulary; write `out` (which may be
    `model` itself) carrying the best pair."""
    if beam.lm is None:
        raise AsrError(str(model or "the model"), "tune-lm needs a language model (--lm FILE)")
    output_file(out)
    utterances = read_checked_manifest(manifest)
    utterances = utterances[:max_utts] if max_utts else utterances
    refs = [u.text for u in utterances]
    if not any(normalize_text(r) for r in refs):
        raise AsrError(str(manifest), "no reference words to tune on")
    transcriber = Transcriber(load_model(model))  # greedy: its log-probs are all we need
    grid = list(itertools.product(lm_weights, word_bonuses))
    points = []
    with Progress(console=_STDERR, transient=True) as bar:
        task = bar.add_task("hearing", total=len(utterances))
        heard = []  # per utterance, the log-probs of the pieces `asr eval` decodes
        for utt in utterances:
            heard.append(transcriber.piece_log_probs(transcriber.load_wave(utt.audio)))
            bar.advance(task)
        greedy = [_joined(transcriber.decode_log_probs, pieces) for pieces in heard]
        bar.update(task, description="searching", completed=0, total=len(grid))
        # the LM and lexicon are read once; each point searches with a reweighted fork
        search = BeamDecoder(transcriber.tokenizer, beam, transcriber.frame_seconds)
        for weight, bonus in grid:
            decode = search.with_weights(weight, bonus)
            hyps = [_joined(decode, pieces) for pieces in heard]
            points.append(GridPoint(weight, bonus, _wer(refs, hyps)))
            bar.advance(task)
    tuning = Tuning(_wer(refs, greedy), points, len(utterances))
    best = tuning.best
    record = {
        "lm_weight": best.lm_weight,
        "word_bonus": best.word_bonus,
        "tuned_on": Path(manifest).name,
        "lm": Path(beam.lm).name,
        "wer": round(best.wer, 4),
        "greedy_wer": round(tuning.greedy_wer, 4),
    }
    copy_with_info(model, out, **{LM_TUNING_KEY: record})
    return tuning


def _joined(decode, pieces) -> str:
    """One recording's text from its pieces' log-probs, joined as `asr eval` joins them."""
    return join_texts(decode(log_probs).text for log_probs in pieces)


def _wer(refs: list[str], hyps: list[str]) -> float:
    return score(refs, hyps).wer  # as `asr eval` scores: the figures agree
