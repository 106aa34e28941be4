import itertools
import math

import numpy as np
import pytest
import torch
from conftest import tone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_checkpoint import tiny
from test_decoding import TOK, log_probs_for

from asr.checkpoint import LoadedModel
from asr.confidence import frame_confidence, word_confidences
from asr.decoding import collapse_path, greedy_decode
from asr.errors import AsrError
from asr.features import FeatureSettings, FeatureStats, LogMel
from asr.model import MIN_FRAMES
from asr.stream import QUIET_SEARCH_S
from asr.streaming import EndpointRules, Recognizer

NEVER = EndpointRules(min_trailing_blank_s=math.inf, max_utterance_s=0)


def recognizer(encoder="gru", rules=NEVER) -> Recognizer:
    """A random tiny model, its encoder and head scaled up so that on noise its best path
    changes often (at init it says one letter whatever it hears). Mamba's encoder is left as
    is: scaled up, its scan turns stiff and float32 rounding grows past the tolerance."""
    torch.manual_seed(0)
    model, cfg = tiny(encoder)
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.mul_(4 if encoder == "gru" else 1)
        model.head.weight.mul_(10)
        model.head.bias.zero_()
    return Recognizer(LoadedModel(model, cfg, TOK, FeatureStats.identity(80)), rules)


@pytest.fixture(scope="module", params=["gru", "mamba"])
def rec(request) -> Recognizer:
    return recognizer(request.param)


def noise(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, generator=torch.Generator().manual_seed(seed)) * 0.1


def pieces(wave: torch.Tensor, size: int) -> list[torch.Tensor]:
    return list(wave.split(size)) if len(wave) else []


def stream_log_probs(rec: Recognizer, chunks) -> torch.Tensor:
    """Step the model through the chunks -> (T', V) log-probs of all encoder frames."""
    state, outputs = rec.init_state(), [torch.zeros(0, len(TOK))]
    for chunk in chunks:
        log_probs, state = rec.step(chunk, state)
        outputs.append(log_probs)
    return torch.cat(outputs)


def assert_streams_like_offline(rec: Recognizer, wave: torch.Tensor, chunks) -> None:
    offline = rec.log_probs(wave)
    streamed = stream_log_probs(rec, chunks)
    assert streamed.shape == offline.shape
    assert torch.allclose(streamed, offline, atol=1e-4)
    stream = rec.create_stream()
    for chunk in chunks:
        stream.accept_waveform(chunk.numpy())
        assert rec.decode(stream) == []
    expected = collapse_path(offline.argmax(-1).tolist(), TOK.blank_id)
    assert stream.tokens == expected
    offline_hyp = greedy_decode(offline, TOK, rec.frame_seconds)
    assert stream.partial == offline_hyp
    scored = word_confidences(offline_hyp, frame_confidence(offline), rec.frame_seconds)
    streamed_conf = [w.confidence for w in stream.partial.words]
    assert streamed_conf == pytest.approx([w.confidence for w in scored.words], abs=1e-3)


@pytest.mark.parametrize("size", [37, 160, 2560, 16000])
@pytest.mark.parametrize("kind", ["noise", "tone"])
def test_chunked_stream_equals_offline(rec, size, kind):
    wave = noise(40037) if kind == "noise" else torch.from_numpy(tone(2.5))
    if kind == "noise":  # enough tokens that merging across chunk edges is put to the test
        assert len(collapse_path(rec.log_probs(wave).argmax(-1).tolist(), TOK.blank_id)) > 10
    assert_streams_like_offline(rec, wave, pieces(wave, size))


@pytest.mark.parametrize("n", [0, 1, 399, 400, 1359, 1360, 1361, 2000, 3001])
def test_sample_by_sample_equals_offline_including_too_short_audio(rec, n):
    """Under 1360 samples (7 feature frames) both offline and streaming give no frames."""
    wave = noise(n, seed=n)
    assert_streams_like_offline(rec, wave, pieces(wave, 1))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(0, 20000),
    cuts=st.lists(st.integers(0, 20000), max_size=25),
    seed=st.integers(0, 2**16),
)
def test_any_chunking_equals_offline(rec, n, cuts, seed):
    wave = noise(n, seed)
    edges = sorted({0, n, *(c for c in cuts if c < n)})
    chunks = [wave[a:b] for a, b in itertools.pairwise(edges)]
    assert_streams_like_offline(rec, wave, chunks)


@settings(max_examples=10, deadline=None)
@given(sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=12))
def test_incremental_logmel_equals_offline(sizes):
    logmel = LogMel(FeatureSettings())
    wave = noise(sum(sizes), seed=len(sizes))
    pending, frames = logmel.init_state(), []
    for chunk in wave.split(sizes):
        feats, pending = logmel.step(chunk, pending)
        frames.append(feats)
        assert len(pending) < logmel.settings.win_length  # only the left context is kept
    assert torch.allclose(torch.cat(frames), logmel(wave), atol=1e-5)


def test_model_and_frontend_steps_equal_forward(rec):
    model = rec.loaded.model
    feats = torch.randn(1, 203, 80)
    offline, lens = model(feats, torch.tensor([203]))
    y_full = model.frontend(feats, torch.tensor([203]))[0]
    state, outputs, ys = model.init_state(1), [], []
    pending = model.frontend.init_state(1)
    for chunk in feats.split([1, 5, 2, 30, 4, 100, 61], dim=1):
        log_probs, state = model.step(chunk, state)
        y, pending = model.frontend.step(chunk, pending)
        outputs.append(log_probs)
        ys.append(y)
        assert pending.shape[1] < MIN_FRAMES  # only the left context is kept
    assert torch.allclose(torch.cat(ys, dim=1), y_full, atol=1e-5)
    assert torch.allclose(torch.cat(outputs, dim=1), offline[:, : lens[0]], atol=1e-4)


def flat(state) -> list[torch.Tensor]:
    """Every tensor in a (nested) state tuple: Mamba's encoder state is a pair of tensors."""
    if isinstance(state, torch.Tensor):
        return [state]
    return [t for part in state for t in flat(part)]


def test_step_leaves_state_alone(rec):
    state = rec.init_state()
    for chunk in pieces(noise(5000), 1700):
        before = [t.clone() for t in flat(state)]
        _, new_state = rec.step(chunk, state)
        assert all(torch.equal(a, b) for a, b in zip(flat(state), before, strict=True))
        assert any(not torch.equal(a, b) for a, b in zip(flat(new_state), before, strict=True))
        state = new_state


def test_bidirectional_model_is_refused():
    with pytest.raises(AsrError, match="encoder 'blstm'.*cannot stream"):
        recognizer("blstm")
    with pytest.raises(ValueError, match="causal"):
        tiny("blstm")[0].init_state()


def test_accept_waveform_checks_its_input(rec):
    stream = rec.create_stream()
    with pytest.raises(ValueError, match="mono"):
        stream.accept_waveform(np.zeros((2, 100), dtype=np.float32))
    buffer = np.zeros(100, dtype=np.float32)
    stream.accept_waveform(buffer)
    buffer[:] = 1  # a microphone callback reusing its buffer must not change accepted audio
    assert stream.audio[0].sum() == 0
    stream.input_finished()
    with pytest.raises(ValueError, match="input_finished"):
        stream.accept_waveform(buffer)


def search_in_pieces(rec, path: str, sizes: list[int]):
    """Hand-written best path ('_' blank, '|' space) through `search` in pieces -> stream, finals."""
    stream, finals = rec.create_stream(), []
    for piece in log_probs_for(list(path)).split(sizes):
        finals += rec.search(stream, piece)
    return stream, finals


@pytest.mark.parametrize("sizes", [[47], [23, 24], [24, 23], [1] * 47, [5, 39, 3]])
def test_trailing_blank_ends_an_utterance(sizes):
    rec = recognizer(rules=EndpointRules(min_trailing_blank_s=0.8))  # 20 frames of 0.04 s
    path = "__hi" + "_" * 20 + "|y_o" + "_" * 19
    stream, finals = search_in_pieces(rec, path, sizes)
    assert [f.text for f in finals] == ["hi"]  # 'yo' has 19 blanks after it: not yet
    (hi,) = finals[0].words
    assert (hi.start, hi.end) == (2 * 0.04, 4 * 0.04)
    assert stream.partial.text == "yo"
    stream.input_finished()
    (yo,) = rec.decode(stream)
    assert yo.text == "yo" and yo.words[0].start == pytest.approx(25 * 0.04)  # from stream start
    assert rec.decode(stream) == [] and stream.partial.text == ""


def test_endpoint_fires_at_the_frame_the_rule_is_met():
    rec = recognizer(rules=EndpointRules(min_trailing_blank_s=0.8))
    path = "_hi" + "_" * 20  # last speech at frame 2, twentieth blank at frame 22
    assert search_in_pieces(rec, path[:22], [22])[1] == []
    stream, finals = search_in_pieces(rec, path, [22, 1])
    assert [f.text for f in finals] == ["hi"] and stream.tokens == []


def test_long_utterance_is_cut_and_blank_alone_never_ends_one():
    rec = recognizer(rules=EndpointRules(min_trailing_blank_s=0.2, max_utterance_s=0.4))
    path = "_" * 40 + "abab" * 5 + "_" * 10
    stream, finals = search_in_pieces(rec, path, [7, 31, 32])
    assert [f.text for f in finals] == ["ababababab"] * 2  # 10 frames of 0.04 s each
    assert finals[1].words[0].start == pytest.approx(50 * 0.04)
    assert stream.tokens == []


def test_repeat_across_a_chunk_edge_merges():
    rec = recognizer()
    stream, _ = search_in_pieces(rec, "_aa_a", [2, 3])
    assert [token for _, token in stream.tokens] == TOK.encode("aa") and stream.partial.text == "aa"


def test_finals_carry_the_confidence_of_their_own_frames():
    """Each final's words are scored on that utterance's frames, wherever chunks and
    endpoints fall: a word with an unsure letter frame scores lower, as offline."""
    rec = recognizer(rules=EndpointRules(min_trailing_blank_s=0.8))
    path = "__hi" + "_" * 20 + "|yo" + "_" * 20 + "|ok" + "_" * 3
    log_probs = log_probs_for(list(path))
    unsure = torch.full((len(TOK),), 0.5 / (len(TOK) - 1))
    unsure[TOK.symbols.index("k")] = 0.5
    log_probs[len(path) - 4] = unsure.log()  # the 'k' frame: half the mass elsewhere
    stream, finals = rec.create_stream(), []
    for piece in log_probs.split([5, 17, 29, 2]):
        finals += rec.search(stream, piece)
    stream.input_finished()
    finals += rec.decode(stream)
    assert [f.text for f in finals] == ["hi", "yo", "ok"]
    offline = word_confidences(
        greedy_decode(log_probs, TOK, rec.frame_seconds),
        frame_confidence(log_probs),
        rec.frame_seconds,
    )
    assert [w.confidence for f in finals for w in f.words] == [w.confidence for w in offline.words]
    hi, yo, ok = (f.words[0].confidence for f in finals)
    assert hi == yo == pytest.approx(1.0, abs=1e-3) and ok < 0.7


def test_streamed_words_carry_the_models_calibration():
    """A calibrated model's streams map their scores as its offline path does."""
    from asr.confidence import Calibration

    rec = recognizer(rules=EndpointRules(min_trailing_blank_s=0.8))
    rec.calibration = Calibration(greedy=(2.0, -1.0))
    path = "__hi" + "_" * 20 + "|yo" + "_" * 3
    log_probs = log_probs_for(list(path))
    log_probs[len(path) - 4] = torch.full((len(TOK),), 1.0 / len(TOK)).log()  # 'o': unsure
    stream, finals = rec.create_stream(), []
    for piece in log_probs.split([7, 17, 6]):
        finals += rec.search(stream, piece)
    stream.input_finished()
    finals += rec.decode(stream)
    offline = word_confidences(
        greedy_decode(log_probs, TOK, rec.frame_seconds), frame_confidence(log_probs),
        rec.frame_seconds, calibration=rec.calibration,
    )  # fmt: skip
    streamed = [w.confidence for f in finals for w in f.words]
    assert streamed == [w.confidence for w in offline.words]
    assert streamed[0] == pytest.approx(rec.calibration.apply(1.0, beam=False), abs=1e-4)


@settings(max_examples=40, deadline=None)
@given(frames=st.integers(0, 300), seed=st.integers(0, 2**16))
def test_the_doubling_scan_is_the_frame_by_frame_scan(frames, seed):
    """An exported Mamba decodes whole recordings with the doubling scan and streams with the
    frame loop; both must be the same recurrence from any state, at any length."""
    from asr.encoders.mamba import _doubling_scan, _scan

    generator = torch.Generator().manual_seed(seed)
    decay = torch.rand(1, frames, 8, 4, generator=generator)  # exp(delta A): in (0, 1)
    drive = torch.randn(1, frames, 8, 4, generator=generator)
    h = torch.randn(1, 8, 4, generator=generator) * 10
    expected = _scan(decay, drive, h) if frames else drive
    assert torch.allclose(_doubling_scan(decay, drive, h), expected, atol=1e-5)


def whispered(word: str, before: int, after: int) -> torch.Tensor:
    """(T, V) log-probs: `before` clear blanks, each letter of `word` on a frame of its own
    just under the blank (0.49 to 0.51), `after` clear blanks: a word only a beam search can
    find (one way: two frames a letter would tie alignments, which flashlight breaks
    arbitrarily)."""
    path = "_" * before + word + "_" * after
    log_probs = log_probs_for(list(path))
    for frame in range(before, before + len(word)):
        log_probs[frame, 0] = math.log(0.51)
        log_probs[frame, TOK.symbols.index(path[frame])] = math.log(0.49)
    return log_probs


def beam_recognizer(tmp_path, **options) -> Recognizer:
    """The tiny model with a beam search that may only say 'the' (word bonus 2)."""
    from asr.beam import BeamOptions

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("the\n")
    base = recognizer(rules=EndpointRules(min_trailing_blank_s=0.8))
    options = options or {"vocab": vocab, "word_bonus": 2.0}
    return Recognizer(base.loaded, base.rules, BeamOptions(**options))


def search_all(rec: Recognizer, log_probs: torch.Tensor, size: int):
    """`log_probs` through a new stream `size` frames at a time, then the end of input ->
    (its finals, the most frames its beam search held)."""
    stream, finals, held = rec.create_stream(), [], 0
    for piece in log_probs.split(size):
        finals += rec.search(stream, piece)
        held = max(held, stream.beam.frames)
    stream.input_finished()
    return finals + rec.decode(stream), held


def test_a_word_only_the_beam_search_finds_is_finalized(tmp_path):
    """Greedy hears only blanks; the beam's best path has 'the': shown as the partial, it
    must become the final too, as offline beam decoding gives it."""
    rec = beam_recognizer(tmp_path)
    log_probs = whispered("the", 5, 10)
    assert collapse_path(log_probs.argmax(-1).tolist(), TOK.blank_id) == []
    offline = rec.decode_log_probs(log_probs)
    assert offline.text == "the"
    stream = rec.create_stream()
    assert rec.search(stream, log_probs) == [] and stream.partial.text == "the"
    stream.input_finished()
    assert rec.decode(stream) == [offline]
    assert rec.decode(stream) == [] and stream.partial.text == ""


@pytest.mark.parametrize("size", [7, 160, 10_000])
def test_a_beam_search_over_long_silence_stays_bounded(tmp_path, size):
    """Low noise (letters well under the blank) never gives a greedy token, so no endpoint:
    the search is restarted every QUIET_SEARCH_S, where chunks do not move it, and a word it
    found by then is finalized there. Speech after it decodes as offline."""
    rec = beam_recognizer(tmp_path)
    quiet = round(QUIET_SEARCH_S / rec.frame_seconds)
    generator = torch.Generator().manual_seed(0)
    low_noise = torch.randn(3 * quiet + 7, len(TOK), generator=generator)
    low_noise[:, 0] += 8.0
    low_noise = low_noise.log_softmax(-1)
    assert collapse_path(low_noise.argmax(-1).tolist(), TOK.blank_id) == []
    spoken = log_probs_for(list("_the" + "_" * 30))
    log_probs = torch.cat([whispered("the", 5, 0), low_noise, spoken])
    finals, held = search_all(rec, log_probs, size)
    assert held <= quiet
    assert [f.text for f in finals] == ["the", "the"]
    assert finals[0] == rec.decode_log_probs(log_probs[:quiet])  # the first search's frames
    the_spoken = len(log_probs) - len(spoken) + 1  # its first letter's frame
    assert finals[1].words[0].start == pytest.approx(the_spoken * rec.frame_seconds)
