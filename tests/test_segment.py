"""Long recordings cut at pauses: pieces cover the audio, stay short and fall in the quiet."""

from itertools import pairwise

import numpy as np
import pytest

from asr.decoding import Hypothesis, Word
from asr.segment import WHOLE_SECONDS, cut_points, transcribe_in_pieces

RATE = 16000


def speech_with_pauses(bursts: list[float], pause: float, seed: int = 0):
    """Noise bursts of the given lengths (s) with `pause` s of near silence between them;
    -> (wave, the sample ranges of the pauses)."""
    rng = np.random.default_rng(seed)
    parts, pauses, at = [], [], 0
    for seconds in bursts:
        parts.append(0.3 * rng.standard_normal(int(seconds * RATE)).astype(np.float32))
        at += len(parts[-1])
        parts.append(1e-4 * rng.standard_normal(int(pause * RATE)).astype(np.float32))
        pauses.append((at, at + len(parts[-1])))
        at += len(parts[-1])
    return np.concatenate(parts), pauses


def test_a_sentence_or_two_stays_whole():
    wave, _ = speech_with_pauses([4.0] * 4, pause=0.5)
    assert len(wave) <= WHOLE_SECONDS * RATE
    assert cut_points(wave, RATE) == [(0, len(wave))]
    assert len(cut_points(wave, RATE, whole_seconds=10)) == 2


@pytest.mark.parametrize(
    "bursts", [[3.0] * 20, [1.2, 3.5, 2.0, 3.1, 0.8, 2.5, 3.3, 3.6, 2.2, 1.4, 3.0, 2.8]]
)
def test_cuts_fall_in_pauses_and_pieces_cover_the_audio(bursts):
    wave, pauses = speech_with_pauses(bursts, pause=0.35)
    pieces = cut_points(wave, RATE, max_seconds=10, min_seconds=4)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(wave)
    assert all(a[1] == b[0] for a, b in pairwise(pieces))  # contiguous, no overlap
    assert all(end - start <= 10 * RATE for start, end in pieces)
    assert all(end - start >= 4 * RATE for start, end in pieces[:-1])
    for _, cut in pieces[:-1]:
        assert any(lo <= cut <= hi for lo, hi in pauses), cut / RATE


def test_speech_without_pauses_is_still_cut_to_length():
    wave = 0.3 * np.random.default_rng(1).standard_normal(45 * RATE).astype(np.float32)
    pieces = cut_points(wave, RATE, max_seconds=10, min_seconds=4)
    assert len(pieces) >= 5 and all(end - start <= 10 * RATE for start, end in pieces)


def test_pieces_are_joined_with_word_times_on_the_whole_recording():
    wave, _ = speech_with_pauses([6.0, 6.0, 6.0], pause=0.5)
    seen = []

    def piece(part):
        seen.append(len(part))
        return Hypothesis(f"w{len(seen)}", [Word(f"w{len(seen)}", 0.5, 1.0)])

    hyp = transcribe_in_pieces(wave, RATE, piece, max_seconds=10, min_seconds=4, whole_seconds=10)
    pieces = cut_points(wave, RATE, max_seconds=10, min_seconds=4, whole_seconds=10)
    assert seen == [end - start for start, end in pieces] and len(seen) == 3
    assert hyp.text == "w1 w2 w3"
    assert [w.start for w in hyp.words] == pytest.approx([0.5 + s / RATE for s, _ in pieces])
    heard = []
    transcribe_in_pieces(wave, RATE, piece, lambda done, total: heard.append((done, total)),
                         max_seconds=10, min_seconds=4, whole_seconds=10)  # fmt: skip
    assert [d for d, _ in heard] == pytest.approx([end / RATE for _, end in pieces])
    assert all(t == pytest.approx(len(wave) / RATE) for _, t in heard)
    silent = transcribe_in_pieces(
        wave, RATE, lambda part: Hypothesis(""), max_seconds=10, whole_seconds=10
    )
    assert silent.text == "" and silent.words == []
