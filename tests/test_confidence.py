"""Word confidence: per-frame entropy, the word's least sure frame, agreement with the best
path under beam search, and the scoring helpers the bench uses."""

import math

import numpy as np
import pytest
import torch
from test_decoding import TOK, log_probs_for

from asr.confidence import (
    CALIBRATION_KEY,
    Calibration,
    auroc,
    calibration_error,
    fit_calibration,
    frame_confidence,
    reliability_bins,
    right_words,
    word_confidences,
)
from asr.decoding import Hypothesis, Word, greedy_decode


def test_frame_confidence_is_one_when_sure_and_zero_when_uniform():
    sure = log_probs_for(list("_a"))  # all the mass on one symbol per frame
    uniform = torch.log_softmax(torch.zeros(1, len(TOK)), -1)
    two_way = torch.log(torch.tensor([[0.5, 0.5] + [0.0] * (len(TOK) - 2)]))
    conf = frame_confidence(torch.cat([sure, uniform, two_way]))
    assert conf[:2] == pytest.approx([1.0, 1.0], abs=1e-6)
    assert conf[2] == pytest.approx(0.0, abs=1e-6)
    assert conf[3] == pytest.approx(1 - math.log(2) / math.log(len(TOK)), abs=1e-6)  # -inf ok
    assert np.array_equal(frame_confidence(sure.numpy()), frame_confidence(sure))
    assert frame_confidence(np.zeros((0, len(TOK)))).shape == (0,)


def test_a_word_scores_its_least_sure_frame():
    log_probs = log_probs_for(list("_hi_|_yo_"))
    log_probs[6] = torch.log(torch.full((len(TOK),), 0.01))  # the 'y' frame: unsure
    log_probs[6, TOK.symbols.index("y")] = math.log(1 - 0.01 * (len(TOK) - 1))
    hyp = greedy_decode(log_probs, TOK, 0.04)
    scored = word_confidences(hyp, frame_confidence(log_probs), 0.04)
    hi, yo = scored.words
    assert hyp.text == "hi yo" and hi.confidence == pytest.approx(1.0, abs=1e-3)
    assert yo.confidence == pytest.approx(float(frame_confidence(log_probs)[6]), abs=1e-4)
    assert 0 < yo.confidence < 0.8
    assert hi.to_dict()["conf"] == 1.0 and "conf" not in Word("x", 0, 1).to_dict()


def test_beam_words_are_scaled_by_how_well_the_best_path_spells_them():
    conf = np.ones(10, dtype=np.float32)
    best_path = Hypothesis("yu gat", [Word("yu", 0.0, 0.12), Word("gat", 0.2, 0.32)])
    searched = Hypothesis(
        "you got it", [Word("you", 0.0, 0.12), Word("got", 0.2, 0.32), Word("it", 0.32, 0.4)]
    )
    you, got, it = word_confidences(searched, conf, 0.04, best_path=best_path).words
    assert you.confidence == pytest.approx(2 / 3, abs=1e-3)  # one edit in three letters
    assert got.confidence == pytest.approx(2 / 3, abs=1e-3)
    assert it.confidence == 0.0  # the acoustics spelled nothing there
    same = word_confidences(best_path, conf, 0.04, best_path=best_path).words
    assert [w.confidence for w in same] == [1.0, 1.0]


def test_confidence_survives_shifting_and_stays_out_of_equality():
    word = Word("a", 0.5, 0.7, confidence=0.25)
    moved = word.shifted(10.0)
    assert (moved.start, moved.end, moved.confidence) == (10.5, 10.7, 0.25)
    assert Word("a", 0.5, 0.7, confidence=0.9) == word


def test_right_words_follow_the_wer_alignment():
    assert right_words("the cat sat", "the bat sat on") == [True, False, True, False]
    assert right_words("the cat sat", "cat sat") == [True, True]
    assert right_words("", "noise") == [False]
    assert right_words("words", "") == []


def test_auroc_ranks_right_words_against_wrong_ones():
    assert auroc([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == 1.0
    assert auroc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 0.0
    assert auroc([0.5, 0.5], [True, False]) == 0.5
    assert auroc([0.9, 0.3, 0.5], [True, False, True]) == 1.0
    assert auroc([0.3, 0.9, 0.5], [True, False, True]) == 0.0
    assert math.isnan(auroc([0.5], [True]))


def test_calibration_fit_recovers_the_map_that_made_the_labels():
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.02, 0.98, 20000)
    truth = Calibration(greedy=(2.0, -0.5))
    right = rng.uniform(size=raw.size) < [truth.apply(c, beam=False) for c in raw]
    a, b = fit_calibration(raw, right)
    assert a == pytest.approx(2.0, abs=0.1) and b == pytest.approx(-0.5, abs=0.1)
    fitted = Calibration(greedy=(a, b))
    calibrated = [fitted.apply(c, beam=False) for c in raw]
    assert calibration_error(calibrated, right) < 0.02
    assert calibration_error(raw, right) > 0.05
    assert auroc(calibrated, right) == pytest.approx(auroc(raw, right))  # ranking untouched
    with pytest.raises(ValueError, match="both right and wrong"):
        fit_calibration([0.3, 0.9], [True, True])


def test_calibration_applies_per_search_and_only_where_fitted():
    calibration = Calibration(greedy=(1.0, 1.0))
    assert calibration.apply(0.5, beam=False) == pytest.approx(1 / (1 + math.exp(-1)))
    assert calibration.apply(0.5, beam=True) == 0.5  # no beam map: raw
    assert calibration.apply(0.0, beam=False) > 0  # clipped before the logit, no -inf
    info = {CALIBRATION_KEY: {"greedy": [1.0, 1.0], "beam": None}}
    assert Calibration.from_info(info) == calibration
    assert Calibration.from_info({}) is None
    hyp = greedy_decode(log_probs_for(list("_hi_")), TOK, 0.04)
    conf = frame_confidence(log_probs_for(list("_hi_")))
    raw = word_confidences(hyp, conf, 0.04).words[0].confidence
    mapped = word_confidences(hyp, conf, 0.04, calibration=calibration).words[0].confidence
    assert mapped == pytest.approx(calibration.apply(raw, beam=False), abs=1e-4)


def test_calibration_error_is_the_word_weighted_gap_per_bin():
    scores = [0.95, 0.95, 0.15, 0.15]
    assert calibration_error(scores, [True, False, False, False]) == pytest.approx(
        0.5 * abs(0.95 - 0.5) + 0.5 * abs(0.15 - 0.0)
    )
    assert math.isnan(calibration_error([], []))
    bins = reliability_bins(scores, [True, False, False, False])
    assert bins[9] == (2, 0.95, 0.5) and bins[1] == (2, 0.15, 0.0)
    assert all(n == 0 and math.isnan(mean) for n, mean, _ in bins[2:9])


def test_calibration_fit_stays_finite_on_a_lump_of_zero_scores_that_are_mostly_right():
    """Beam-search words the best path did not hear score 0, yet many are right: undamped
    Newton steps overshot on such data and ran to a = 3.8 million (then an overflow)."""
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.001, 0.999, 3000)
    scores = np.concatenate([raw, np.zeros(200)])
    right = np.concatenate([rng.uniform(size=raw.size) < raw, rng.uniform(size=200) < 0.8])
    a, b = fit_calibration(scores, right)
    assert 0 < a < 2 and abs(b) < 2
    fitted = Calibration(beam=(a, b))
    nll = lambda p: -np.mean(np.where(right, np.log(p), np.log(1 - p)))
    clipped = np.clip(scores, 1e-3, 1 - 1e-3)
    assert nll(np.array([fitted.apply(c, beam=True) for c in scores])) < nll(clipped)
    extreme = Calibration(greedy=(1e9, 1e9))  # no overflow at any parameters
    assert extreme.apply(0.0, beam=False) == 0.0 and extreme.apply(0.9, beam=False) == 1.0


def test_a_one_frame_word_a_frame_off_the_best_path_keeps_its_score():
    """A word piece spans one frame; the search may put its spike one frame from the greedy
    path's. That word was heard; a word a whole frame away from it is not its neighbour."""
    searched = Hypothesis("was", [Word("was", 0.72, 0.76)])  # frame 18
    conf = np.full(30, 0.9, dtype=np.float32)
    shifted = Hypothesis("was", [Word("was", 0.68, 0.72)])  # frame 17
    scored = word_confidences(searched, conf, 0.04, best_path=shifted)
    assert scored.words[0].confidence == pytest.approx(0.9)
    apart = Hypothesis("was", [Word("was", 0.60, 0.68)])  # frames 15-16: frame 17 between
    assert word_confidences(searched, conf, 0.04, best_path=apart).words[0].confidence == 0.0
