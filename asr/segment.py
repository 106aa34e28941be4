"""Long recordings cut at their quietest moments into pieces of the length models train on.

Why: the encoders learn on utterances of a few seconds. Over minutes of audio they lose
accuracy and their memory grows with the length. On 9 recordings of 40 dev utterances each
(2-4 minutes, 0.15-0.6 s pauses), the bundled BiLSTM's greedy WER was 0.621 in one piece,
0.570 cut here into pieces of 4-10 s, and 0.530 cut at the true sentence ends; pieces of up
to 20 s gave 0.583, of up to 6 s 0.570. On dev.jsonl as rebuilt on 2026-11-27
(`python bench/long_recordings.py --manifest dev.jsonl [--model streaming]`): BiLSTM 0.701,
0.636, 0.589; GRU 0.761, 0.698, 0.652. Recordings of a
sentence or two stay whole. Cutting where the signal is quietest keeps words
whole, as a voice-activity segmenter would, with no second model. numpy only: the
onnxruntime path uses it without torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from asr.decoding import Alternative, Hypothesis

WHOLE_SECONDS = 20.0  # decoded whole up to here: about the longest training utterances
MAX_SECONDS = 10.0  # the longest piece of a longer recording, chosen on the dev recordings
MIN_SECONDS = 4.0  # no cut earlier than this into a piece: a pause must be worth it
HOP_SECONDS = 0.01
SMOOTH_SECONDS = 0.2  # a pause is quiet for this long, not a stop consonant's closure
NEAR_DB = 3.0  # levels this close to the quietest count as just as quiet


def cut_points(
    wave: np.ndarray,
    rate: int,
    max_seconds: float = MAX_SECONDS,
    min_seconds: float = MIN_SECONDS,
    whole_seconds: float = WHOLE_SECONDS,
) -> list[tuple[int, int]]:
    """(start, end) sample ranges covering `wave`: the whole of it up to `whole_seconds`
    (cutting a single sentence costs accuracy: dev WER 0.528 -> 0.534 when its 14 utterances
    of 10-15 s were cut), else pieces of at most `max_seconds`, cut at the quietest 200 ms
    between `min_seconds` and `max_seconds` into each piece."""
    total = len(wave)
    if total <= max(whole_seconds, max_seconds) * rate:
        return [(0, total)]
    hop = max(1, int(HOP_SECONDS * rate))
    frames = total // hop
    power = np.square(wave[: frames * hop].astype(np.float64)).reshape(frames, hop).mean(axis=1)
    width = max(1, int(SMOOTH_SECONDS / HOP_SECONDS))
    quiet = np.convolve(10 * np.log10(power + 1e-12), np.ones(width) / width, mode="same")
    pieces, start = [], 0
    while total - start > max_seconds * rate:
        lo = (start + int(min_seconds * rate)) // hop
        hi = (start + int(max_seconds * rate)) // hop
        window = quiet[lo:hi]
        # The latest frame within 3 dB of the quietest: pauses are about equally quiet, and
        # the later one gives fewer, longer pieces.
        near = np.flatnonzero(window <= window.min() + NEAR_DB)
        cut = (lo + int(near[-1])) * hop
        pieces.append((start, cut))
        start = cut
    pieces.append((start, total))
    return pieces


Progress = Callable[[float, float], None]  # (seconds decoded, seconds in all), per piece


def transcribe_in_pieces(
    wave,
    rate: int,
    transcribe_piece: Callable[[object], Hypothesis],
    progress: Progress | None = None,
    **limits: float,
) -> Hypothesis:
    """Transcribe a long `wave` (numpy or a CPU tensor) piece by piece with
    `transcribe_piece`, joining the texts and shifting word times to the whole recording;
    `progress` hears after each piece (a bar for hour-long files)."""
    pieces = cut_points(np.asarray(wave), rate, **limits)
    if len(pieces) == 1:
        return transcribe_piece(wave)
    hyps, words = [], []
    for start, end in pieces:
        hyp = transcribe_piece(wave[start:end])
        hyps.append(hyp)
        words += [w.shifted(start / rate) for w in hyp.words]
        if progress is not None:
            progress(end / rate, len(wave) / rate)
    joined = Hypothesis(join_texts(h.text for h in hyps), words)
    if all(h.alternatives for h in hyps):
        joined.alternatives = [joined_best(joined, [h.alternatives[0] for h in hyps])]
    return joined


def join_texts(texts: Iterable[str]) -> str:
    """The pieces' texts as one recording's: space-separated, empty ones (silence) left out."""
    return " ".join(text for text in texts if text)


def joined_best(joined: Hypothesis, bests: list[Alternative]) -> Alternative:
    """The one alternative listed for a recording decoded in pieces: the pieces' bests joined,
    their scores summed and probabilities multiplied (the pieces are searched apart; mixing
    each piece's runners-up would list combinations, not transcripts)."""
    scores = [b.score for b in bests]
    score = None if None in scores else sum(scores)
    return Alternative(joined.text, joined.words, score, math.prod(b.probability for b in bests))
