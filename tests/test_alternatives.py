"""The n best transcripts (`asr transcribe --json --alternatives N`)."""

import json
import math

import numpy as np
import pytest
import torch
from conftest import SAMPLES_DIR
from test_beam import the_c_t, write
from test_cli import run
from test_decoding import TOK

from asr.beam import BeamDecoder, BeamOptions
from asr.checkpoint import load_model
from asr.decoding import Alternative, Hypothesis, Word, ranked_alternatives
from asr.segment import transcribe_in_pieces
from asr.transcribe import Transcriber

SAMPLE = SAMPLES_DIR / "sample1.wav"


def test_the_search_lists_distinct_transcripts_best_first_with_their_score_gap(tmp_path):
    """'the c?t' with the vowel 'o' ahead of 'a' by 0.2 nats: both readings are listed, "cot"
    first, and their scores differ by that margin, whatever the frames around it."""
    vocab = write(tmp_path, "vocab.txt", "the\ncat\ncot\n")
    found = BeamDecoder(TOK, BeamOptions(beam=16, vocab=vocab), 0.04).nbest(the_c_t(0.2), 5)
    texts = [hyp.text for hyp, _ in found]
    assert texts[:2] == ["the cot", "the cat"]
    assert len(set(texts)) == len(texts)
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] - scores[1] == pytest.approx(0.2, abs=1e-3)


def test_probabilities_are_the_softmax_of_the_scores():
    hyps = [Hypothesis("a"), Hypothesis("b"), Hypothesis("c")]
    listed = ranked_alternatives(list(zip(hyps, [-1.0, -1.0 - math.log(3), -40.0])))
    probs = [a.probability for a in listed]
    assert sum(probs) == pytest.approx(1.0)
    assert probs[0] / probs[1] == pytest.approx(3.0)
    assert [a.text for a in listed] == ["a", "b", "c"]
    assert ranked_alternatives([]) == []


def test_one_alternative_is_the_best_with_the_searchs_score(tmp_path):
    vocab = write(tmp_path, "vocab.txt", "the\ncat\ncot\n")
    decoder = BeamDecoder(TOK, BeamOptions(beam=16, vocab=vocab), 0.04)
    (only, score), *rest = decoder.nbest(the_c_t(0.2), 1)
    assert rest == [] and only == decoder(the_c_t(0.2)) and math.isfinite(score)


@pytest.fixture(scope="module")
def bundled():
    return load_model(None)


def lm_options():
    from asr.bundled import BUNDLED_LM

    return BeamOptions(beam=32, lm=BUNDLED_LM)


def test_a_transcriber_lists_alternatives_headed_by_its_usual_answer(bundled, write_audio):
    """On a bundled sample, with the bundled LM: the first alternative is exactly what the
    transcriber says without alternatives, and the rest are other, less likely texts."""
    wave = Transcriber(bundled).load_wave(SAMPLE)
    plain = Transcriber(bundled, lm_options()).transcribe_wave(wave)
    listed = Transcriber(bundled, lm_options(), alternatives=4).transcribe_wave(wave)
    assert listed == plain
    first, *others = listed.alternatives
    assert (first.text, first.words) == (plain.text, plain.words)
    assert others, "the beam holds more than one reading of a real recording"
    assert len(listed.alternatives) <= 4
    assert len({a.text for a in listed.alternatives}) == len(listed.alternatives)
    for alt in listed.alternatives:
        assert " ".join(w.word for w in alt.words) == alt.text
        assert all(0.0 <= w.confidence <= 1.0 for w in alt.words)
    probs = [a.probability for a in listed.alternatives]
    assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1.0)


def test_batched_files_and_silence_list_alternatives_too(bundled):
    transcriber = Transcriber(bundled, lm_options(), alternatives=3)
    speech = torch.from_numpy(np.random.default_rng(0).normal(0, 0.1, 24000).astype(np.float32))
    silent, noisy = transcriber.transcribe_batch([torch.zeros(16000), speech])
    assert [a.to_dict() for a in silent.alternatives] == [
        {"text": "", "score": None, "probability": 1.0, "words": []}
    ]
    assert noisy.alternatives and noisy.alternatives[0].text == noisy.text
    with pytest.raises(ValueError):
        Transcriber(bundled, None, alternatives=2)


def test_a_recording_in_pieces_lists_its_joined_best_only():
    """Pieces are searched apart: one alternative, the bests joined, scores summed and
    probabilities multiplied; a piece without alternatives leaves the recording without."""

    def piece(wave):
        word = Word(f"w{len(wave)}", 0.0, 0.1)
        hyp = Hypothesis(word.word, [word])
        hyp.alternatives = [Alternative(hyp.text, hyp.words, -2.0, 0.5),
                            Alternative("other", [], -2.5, 0.3)]  # fmt: skip
        return hyp

    wave = np.zeros(30 * 100)  # 30 s at 100 Hz: cut into pieces
    joined = transcribe_in_pieces(wave, 100, piece)
    pieces = joined.text.split()
    assert len(pieces) > 1
    (only,) = joined.alternatives
    assert only.text == joined.text and only.words == joined.words
    assert only.score == pytest.approx(-2.0 * len(pieces))
    assert only.probability == pytest.approx(0.5 ** len(pieces))
    assert transcribe_in_pieces(wave, 100, lambda w: Hypothesis("x")).alternatives == []


def test_cli_lists_alternatives_in_json(tmp_path):
    out = run("transcribe", SAMPLE, "--json", "--alternatives", "3")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    alts = result["alternatives"]
    assert 1 <= len(alts) <= 3
    assert alts[0]["text"] == result["text"] and alts[0]["words"] == result["words"]
    assert all(set(a) == {"text", "score", "probability", "words"} for a in alts)


@pytest.mark.parametrize(
    "flags, says",
    [
        (["--alternatives", "2"], "add --json"),
        (["--json", "--alternatives", "2", "--no-lm"], "needs a beam search"),
    ],
)
def test_cli_alternatives_without_json_or_a_search_is_one_line(flags, says):
    out = run("transcribe", SAMPLE, *flags)
    assert out.exit_code == 1 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and says in out.stderr


def test_a_streamed_final_lists_the_alternatives_offline_decoding_lists():
    """The same utterance, streamed in chunks or decoded whole, with a lexicon-free beam:
    the same transcripts, scores and words; partials list none; events carry them in JSON."""
    from test_streaming import noise, recognizer

    from asr.live import Event
    from asr.stream import EndpointRules
    from asr.streaming import Recognizer

    rec = recognizer("gru")
    options = BeamOptions(beam=16)
    offline = Recognizer(rec.loaded, rec.rules, options, alternatives=5)
    whole = offline.transcribe_wave(noise(24000, seed=9))
    assert len(whole.alternatives) > 1
    streaming = Recognizer(rec.loaded, EndpointRules(float("inf"), 0), options, alternatives=5)
    stream = streaming.create_stream()
    for chunk in noise(24000, seed=9).split(2560):
        stream.accept_waveform(chunk)
        assert streaming.decode(stream) == [] and stream.partial.alternatives == []
    stream.input_finished()
    (final,) = streaming.decode(stream)
    assert [a.text for a in final.alternatives] == [a.text for a in whole.alternatives]
    for streamed, decoded in zip(final.alternatives, whole.alternatives):
        assert streamed.score == pytest.approx(decoded.score, abs=1e-3)
        assert streamed.words == decoded.words
    event = Event("final", final).to_dict()
    assert [a["text"] for a in event["alternatives"]] == [a.text for a in whole.alternatives]
    assert "alternatives" not in Event("partial", stream.partial).to_dict()


def test_live_and_serve_refuse_alternatives_they_cannot_give():
    greedy = run("live", "--input", SAMPLE, "--speed", "0", "--json", "--no-lm",
                 "--alternatives", "2")  # fmt: skip
    assert greedy.exit_code == 1 and "needs a beam search" in greedy.stderr
    human = run("live", "--input", SAMPLE, "--speed", "0", "--alternatives", "2")
    assert human.exit_code == 1 and "add --json" in human.stderr
    served = run("serve", "--no-lm", "--alternatives", "2")
    assert served.exit_code == 1 and "needs a beam search" in served.stderr
