import torch

from asr.decoding import greedy_decode
from asr.text import CharTokenizer

TOK = CharTokenizer()


def log_probs_for(path: list[str]) -> torch.Tensor:
    """One frame per symbol ('_' = blank, '|' = space): that symbol gets almost all the mass."""
    out = torch.full((len(path), len(TOK)), -20.0)
    for t, sym in enumerate(path):
        out[t, 0 if sym == "_" else TOK.symbols.index(sym)] = 0.0
    return out


def test_merges_repeats_and_drops_blanks():
    hyp = greedy_decode(log_probs_for(list("hh_e_ll_llo")), TOK, 0.04)
    assert hyp.text == "hello"


def test_word_times():
    path = list("__hi__|__yo_") + ["_"] * 3
    hyp = greedy_decode(log_probs_for(path), TOK, 0.04)
    assert hyp.text == "hi yo"
    (hi, yo) = hyp.words
    assert (hi.word, hi.start, hi.end) == ("hi", 2 * 0.04, 4 * 0.04)
    assert (yo.word, round(yo.start, 6), round(yo.end, 6)) == ("yo", 0.36, 0.44)


def test_all_blank_is_empty():
    hyp = greedy_decode(log_probs_for(list("_____")), TOK, 0.04)
    assert hyp.text == "" and hyp.words == []


def test_leading_and_repeated_spaces_make_no_empty_words():
    hyp = greedy_decode(log_probs_for(list("|_a_|_|b|")), TOK, 0.04)
    assert [w.word for w in hyp.words] == ["a", "b"]
