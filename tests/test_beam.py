"""Beam search: LM, vocabulary and hotwords change close calls the way they should; word
times and streaming agree with whole-utterance decoding."""

import gzip
import subprocess
import sys

import pytest
import torch
from conftest import SAMPLES_DIR
from test_decoding import TOK, log_probs_for
from test_streaming import noise, recognizer

import asr.beam
from asr.beam import MAX_BEAM, BeamDecoder, BeamOptions, lm_vocabulary, read_words
from asr.checkpoint import save_model
from asr.decoding import greedy_decode
from asr.errors import AsrError
from asr.streaming import EndpointRules, Recognizer

ARPA = """\\data\\
ngram 1=6
ngram 2=2

\\1-grams:
-1.0\t<s>\t-0.5
-1.0\t</s>
-0.7\tthe\t-0.5
-1.0\tcat\t-0.5
-1.0\tcot\t-0.5
-1.2\tsat\t-0.5

\\2-grams:
-0.05\tthe cat
-3.0\tthe cot

\\end\\
"""


def the_c_t(o_margin: float = 0.2) -> torch.Tensor:
    """'the c?t' where the vowel is 'o' by a small margin over 'a'."""
    lp = log_probs_for(list("_the_|_c_t__"))
    lp[8, TOK.symbols.index("o")] = 0.0  # frame 8 is the blank between 'c' and 't'
    lp[8, TOK.symbols.index("a")] = -o_margin
    lp[8, 0] = -20.0
    return lp.log_softmax(-1)


def decode(lp, **options) -> str:
    return BeamDecoder(TOK, BeamOptions(**options), 0.04)(lp).text


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_without_constraints_beam_agrees_with_greedy_including_word_times():
    lp = log_probs_for(list("__hi__|__yo_") + ["_"] * 3).log_softmax(-1)
    beam = BeamDecoder(TOK, BeamOptions(beam=8), 0.04)(lp)
    assert beam == greedy_decode(lp, TOK, 0.04)
    assert decode(the_c_t(), beam=8) == "the cot"


def test_vocab_restricts_output(tmp_path):
    assert decode(the_c_t(), vocab=write(tmp_path, "v.txt", "the\ncat\nsat\n")) == "the cat"


def test_a_word_list_with_counts_after_a_space_or_tab_reads_its_first_column(tmp_path):
    counted = write(tmp_path, "v.txt", "the 12\ncat  5\n\nsat\t1\n Dog 0.25 \nmat\tx y\n")
    assert read_words(counted) == ["the", "cat", "sat", "dog", "mat"]
    assert decode(the_c_t(), vocab=counted) == "the cat"


def test_a_phrase_in_a_word_list_is_left_out_not_cut_to_its_first_word(tmp_path):
    """'new york' is two words, not 'new'; nor is 'dog 2 x' a word and a count."""
    listed = write(tmp_path, "v.txt", "new york\nthe\nlos angeles 12\ndog 2 x\n42 7\n")
    assert read_words(listed) == ["the"]


def test_a_word_list_that_is_not_utf8_is_one_line_naming_it(tmp_path):
    listed = tmp_path / "v.txt"
    listed.write_bytes(b"the\ncaf\xe9\n")
    with pytest.raises(AsrError) as err:
        read_words(listed)
    assert str(err.value) == f"{listed}:2: not UTF-8 text (byte 0xe9 at offset 7)"


def test_a_double_letter_on_one_emission_keeps_the_word_the_search_chose(tmp_path):
    """flashlight can read "ee" off one run of 'e' frames; the text is the lexicon word
    ("three", as the search scored it), not the collapsed path ("thre")."""
    lp = log_probs_for(list("_thre") + ["e"] + list("__")).log_softmax(-1)
    assert greedy_decode(lp, TOK, 0.04).text == "thre"
    vocab = write(tmp_path, "vocab.txt", "three\ntree\n")
    hypothesis = BeamDecoder(TOK, BeamOptions(beam=8, vocab=vocab), 0.04)(lp)
    assert hypothesis.text == "three"
    assert [w.word for w in hypothesis.words] == ["three"]
    assert hypothesis.words[0].start == pytest.approx(0.04)


def test_words_the_search_joined_without_a_space_come_out_as_words_with_their_times(tmp_path):
    lp = log_probs_for(list("_let_se_e__")).log_softmax(-1)
    assert greedy_decode(lp, TOK, 0.04).text == "letsee"
    vocab = write(tmp_path, "vocab.txt", "let\nsee\n")
    hypothesis = BeamDecoder(TOK, BeamOptions(beam=8, vocab=vocab), 0.04)(lp)
    assert hypothesis.text == "let see"
    assert [(w.word, round(w.start, 2), round(w.end, 2)) for w in hypothesis.words] == [
        ("let", 0.04, 0.16),
        ("see", 0.2, 0.36),
    ]


def test_lm_overrides_a_close_acoustic_call_and_weight_zero_does_not(tmp_path):
    lm = write(tmp_path, "lm.arpa", ARPA)
    assert decode(the_c_t(), lm=lm, lm_weight=1.0) == "the cat"
    assert decode(the_c_t(), lm=lm, lm_weight=0.0) == "the cot"
    assert sorted(lm_vocabulary(lm)) == ["cat", "cot", "sat", "the"]


def test_gzipped_arpa_decodes_like_the_plain_one(tmp_path):
    lm = tmp_path / "lm.arpa.gz"
    lm.write_bytes(gzip.compress(ARPA.encode()))
    assert decode(the_c_t(), lm=lm, lm_weight=1.0) == "the cat"
    assert decode(the_c_t(), lm=lm, lm_weight=0.0) == "the cot"
    assert sorted(lm_vocabulary(lm)) == ["cat", "cot", "sat", "the"]
    hot = write(tmp_path, "h.txt", "cot\n")  # hotwords rewrite the gunzipped ARPA
    assert decode(the_c_t(), lm=lm, hotwords=hot, hotword_bonus=10.0) == "the cot"


def test_the_lm_vocabulary_stops_reading_at_the_bigrams(tmp_path, monkeypatch):
    """A large LM's vocabulary is its unigrams: the lines after them are not even read."""
    read, read_lines = [], asr.beam._read_lines

    def counted(path):
        for line in read_lines(path):
            read.append(line)
            yield line

    monkeypatch.setattr(asr.beam, "_read_lines", counted)
    assert sorted(lm_vocabulary(write(tmp_path, "lm.arpa", ARPA))) == ["cat", "cot", "sat", "the"]
    assert read[-1] == "\\2-grams:" and len(read) == ARPA.split("\n").index("\\2-grams:") + 1


def test_an_arpa_whose_tabs_became_spaces_is_refused_naming_the_line(tmp_path):
    """KenLM wants a tab after a unigram's probability and before a backoff, and takes blanks
    between a longer n-gram's probability and words: the ARPA reader agrees with it."""
    lm = write(tmp_path, "lm.arpa", ARPA.replace("\t", " "))
    hot = write(tmp_path, "h.txt", "cat\n")
    for options in ({}, {"hotwords": hot}):
        with pytest.raises(AsrError, match=r"not an ARPA language model \(line 6: '-1.0 <s>"):
            decode(the_c_t(), lm=lm, **options)
    lm = write(tmp_path, "backoff.arpa", ARPA.replace("-1.0\tcat\t-0.5", "-1.0\tcat -0.5"))
    with pytest.raises(AsrError, match=r"\(line 9: '-1.0\\tcat -0.5' is not a 1-gram entry"):
        lm_vocabulary(lm)
    lm = write(tmp_path, "spaced.arpa", ARPA.replace("-0.05\tthe cat", "-0.05 the cat"))
    assert decode(the_c_t(), lm=lm, lm_weight=1.0) == "the cat"  # KenLM reads it
    hot = write(tmp_path, "h.txt", "cot\n")  # the rewritten LM: the bigram read, and raised
    assert decode(the_c_t(), lm=lm, hotwords=hot, hotword_bonus=10.0) == "the cot"


def test_an_lm_kenlm_refuses_is_one_line_naming_it(tmp_path):
    lm = write(tmp_path, "lm.bin", "junk, not a KenLM binary")
    write(tmp_path, "lm.bin.vocab", "cat\n")
    with pytest.raises(AsrError, match="cannot load the language model") as err:
        decode(the_c_t(), lm=lm)
    assert str(err.value).startswith(str(lm)) and "\n" not in str(err.value)


def test_hotwords_win_close_calls_only(tmp_path):
    vocab = write(tmp_path, "v.txt", "the\ncat\ncot\n")
    hot = write(tmp_path, "h.txt", "cat\n")
    assert decode(the_c_t(0.2), vocab=vocab) == "the cot"
    assert decode(the_c_t(0.2), vocab=vocab, hotwords=hot, hotword_bonus=3.0) == "the cat"
    assert decode(the_c_t(15.0), vocab=vocab, hotwords=hot, hotword_bonus=3.0) == "the cot"


def test_hotword_missing_from_the_lm_is_added(tmp_path):
    lm = write(tmp_path, "lm.arpa", ARPA)
    lp = log_probs_for(list("_the_|_d_o_g_")).log_softmax(-1)
    assert decode(lp, lm=lm) != "the dog"  # not in the LM's vocabulary: cannot be spelled
    assert decode(lp, lm=lm, hotwords=write(tmp_path, "h.txt", "dog\n")) == "the dog"


def test_bad_options_are_clear_errors(tmp_path):
    with pytest.raises(AsrError, match="no such word list"):
        decode(the_c_t(), vocab=tmp_path / "missing.txt")
    with pytest.raises(AsrError, match="--hotwords needs --vocab or --lm"):
        decode(the_c_t(), hotwords=write(tmp_path, "h.txt", "cat\n"))
    with pytest.raises(AsrError, match="word list beside it"):
        decode(the_c_t(), lm=write(tmp_path, "lm.bin", "binary"))


def test_streamed_beam_search_equals_offline_beam_search():
    rec = recognizer("gru")
    options = BeamOptions(beam=8)
    offline = Recognizer(rec.loaded, rec.rules, options).transcribe_wave(noise(24000, seed=9))
    assert offline.text
    streaming = Recognizer(rec.loaded, EndpointRules(float("inf"), 0), options)
    stream = streaming.create_stream()
    for chunk in noise(24000, seed=9).split(2560):
        stream.accept_waveform(chunk)
        assert streaming.decode(stream) == []
    stream.input_finished()
    (final,) = streaming.decode(stream)
    assert final == offline


def test_cli_hotwords_without_words_to_compete_is_one_line(tmp_path):
    from conftest import SAMPLES_DIR

    model = tmp_path / "gru.safetensors"
    loaded = recognizer("gru").loaded
    save_model(model, loaded.model, loaded.config, TOK, loaded.stats)
    hot = write(tmp_path, "h.txt", "cat\n")
    args = ["transcribe", str(SAMPLES_DIR / "sample1.wav"), "--hotwords", str(hot)]
    proc = subprocess.run(
        [sys.executable, "-m", "cli", *args, "--model", str(model)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"asr: error: {hot}: --hotwords needs --vocab or --lm"


@pytest.mark.parametrize("kind", ["lm", "vocab", "hotwords", "free"])
def test_a_fork_searches_like_a_new_decoder_and_shares_its_lm(kind, tmp_path):
    """Streams fork the recognizer's decoder (one LM in memory): same words, same times,
    and each fork keeps its own search, even when two run interleaved."""
    lm, vocab = write(tmp_path, "lm.arpa", ARPA), write(tmp_path, "v.txt", "the\ncat\ncot\n")
    options = {
        "lm": BeamOptions(lm=lm),
        "vocab": BeamOptions(vocab=vocab),
        "hotwords": BeamOptions(lm=lm, hotwords=write(tmp_path, "h.txt", "cot\n")),
        "free": BeamOptions(beam=8),
    }[kind]
    first = BeamDecoder(TOK, options, 0.04)
    a, b = first.fork(), first.fork()
    assert a.decoder.lm is first.decoder.lm and a.decoder.decoder is not b.decoder.decoder
    torch.manual_seed(1)
    inputs = [the_c_t(0.2), the_c_t(3.0), torch.randn(30, len(TOK)).mul(3).log_softmax(-1)]
    for lp in inputs:
        expected = BeamDecoder(TOK, options, 0.04)(lp)
        a.begin()
        b.begin()
        for fork, cut in ((a, 5), (b, 7), (a, None), (b, None)):  # interleaved searches
            fork.step(lp[:cut] if cut else lp[5 if fork is a else 7 :])
        got_a, got_b = a.end(), b.end()
        assert got_a == got_b == expected == first(lp)
        assert got_a.text == expected.text


def test_a_transcriber_with_its_own_search_shares_the_model_not_the_search():
    rec = recognizer("gru")
    assert rec.with_own_search() is rec  # greedy: no search state to keep apart
    beam = Recognizer(rec.loaded, rec.rules, BeamOptions(beam=8))
    twin = beam.with_own_search()
    assert twin.loaded is beam.loaded and twin.beam.decoder.decoder is not beam.beam.decoder.decoder
    wave = noise(24000, seed=9)
    assert twin.transcribe_wave(wave) == beam.transcribe_wave(wave)


def test_a_beam_past_the_memory_bound_is_refused_in_one_line():
    """Memory grows with the beam (10 million was killed for memory): refuse it up front."""
    assert BeamOptions(beam=MAX_BEAM).beam == MAX_BEAM
    for beam in (0, MAX_BEAM + 1):
        with pytest.raises(AsrError, match=f"must be from 1 to {MAX_BEAM}"):
            BeamOptions(beam=beam)
    from typer.testing import CliRunner

    from cli import app

    sample = SAMPLES_DIR / "sample1.wav"
    result = CliRunner().invoke(app, ["transcribe", str(sample), "--beam", "10000000"])
    assert result.exit_code == 1
    assert result.output.startswith("asr: error: --beam: must be from 1 to")


def test_the_search_takes_numpy_log_probs_as_it_takes_tensors(tmp_path):
    """The onnxruntime path hands numpy arrays (and float64 ones are cast, not misread)."""
    lm = write(tmp_path, "lm.arpa", ARPA)
    for options in ({}, {"lm": lm, "lm_weight": 1.0}):
        expected = decode(the_c_t(), **options)
        assert decode(the_c_t().numpy(), **options) == expected
        assert decode(the_c_t().double().numpy(), **options) == expected
    assert decode(the_c_t(), lm=lm, lm_weight=1.0) == "the cat"
