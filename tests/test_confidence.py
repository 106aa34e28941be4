"""Word confidence: per-frame entropy, the word's least sure frame, agreement with the best
path under beam search, and the scoring helpers the bench uses."""

import math

import numpy as np
import pytest
import torch
from test_decoding import TOK, log_probs_for

from asr.confidence import auroc, frame_confidence, right_words, word_confidences
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
