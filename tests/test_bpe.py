"""Word-piece units (asr/bpe.py): learnt from transcripts, stored whole in the model file,
and decoded by the same greedy, beam and lexicon searches as letters."""

import json

import pytest
import torch

from asr.beam import BeamDecoder, BeamOptions
from asr.bpe import BpeTokenizer
from asr.checkpoint import load_model, save_model
from asr.config import Config, ModelConfig, config_from_dict
from asr.decoding import greedy_decode
from asr.errors import AsrError
from asr.features import FeatureStats
from asr.model import CTCModel
from asr.text import tokenizer_from_dict

pytest.importorskip("sentencepiece")

TEXTS = [
    "the train leaves at seven in the morning",
    "please come back when you get home",
    "she bought some bread and milk",
    "the rain in the morning trains the plain",
    "seventy seven trains leave at seven",
] * 4


@pytest.fixture(scope="module")
def bpe():
    return BpeTokenizer.train(TEXTS, 40)


def test_pieces_round_trip_with_a_boundary_between_words(bpe):
    text = "The train leaves, at SEVEN!"
    ids = bpe.encode(text)
    assert bpe.decode(ids) == "the train leaves at seven"
    assert [bpe.is_word_boundary(i) for i in ids].count(True) == 4  # between the five words
    assert not bpe.is_word_boundary(ids[0]) and not bpe.is_word_boundary(ids[-1])
    assert len(ids) - 4 < len("thetrainleavesatseven")  # pieces, not letters
    assert all(i not in (bpe.blank_id,) for i in ids)
    assert bpe.blank_id == 0 and bpe.symbols[:2] == ["<blank>", "|"]
    assert 2 < len(bpe) <= 2 + 40


def test_text_it_cannot_cut_is_dropped_not_misread(bpe):
    assert bpe.decode(bpe.encode("seven zzz q")) == "seven"  # no z or q in the training text
    assert bpe.spell("zzz") == [] and "".join(bpe.spell("seventy")) == "seventy"


def test_the_stored_tokenizer_cuts_and_reads_as_the_learnt_one(bpe):
    stored = tokenizer_from_dict(json.loads(json.dumps(bpe.to_dict())))
    assert stored.symbols == bpe.symbols
    for text in TEXTS[:5] + ["seven trains", "a b c"]:
        assert stored.encode(text) == bpe.encode(text)
        assert stored.decode(bpe.encode(text)) == bpe.decode(bpe.encode(text))
    assert len(bpe.to_dict()["model"]) < 20_000  # the header carries it: no 240 KB table


def test_a_model_file_carries_its_pieces(bpe, tmp_path):
    cfg = Config(model=ModelConfig(encoder="gru", hidden=16, layers=1, units="bpe", bpe_size=40))
    model = CTCModel(cfg.model, 80, len(bpe))
    save_model(tmp_path / "m.safetensors", model, cfg, bpe, FeatureStats.identity(80))
    loaded = load_model(tmp_path / "m.safetensors")
    assert loaded.tokenizer.kind == "bpe" and loaded.tokenizer.symbols == bpe.symbols
    assert loaded.tokenizer.encode("seven trains") == bpe.encode("seven trains")
    assert loaded.config.model.units == "bpe"


def path_for(bpe, words: list[str]) -> torch.Tensor:
    """Log-probs with one confident frame per piece, blanks between, '|' between words."""
    symbols = []
    for n, word in enumerate(words):
        symbols += (["|"] if n else []) + [p for piece in bpe.spell(word) for p in (piece, "_")]
    out = torch.full((len(symbols) + 2, len(bpe)), -20.0)
    out[0, 0] = out[-1, 0] = 0.0
    for t, symbol in enumerate(symbols, start=1):
        out[t, 0 if symbol == "_" else bpe.symbols.index(symbol)] = 0.0
    return out.log_softmax(-1)


def test_greedy_and_beam_searches_read_pieces_into_words_with_times(bpe, tmp_path):
    log_probs = path_for(bpe, ["seven", "trains", "leave"])
    greedy = greedy_decode(log_probs, bpe, 0.04)
    assert greedy.text == "seven trains leave"
    assert [w.word for w in greedy.words] == ["seven", "trains", "leave"]
    assert all(a.end <= b.start for a, b in zip(greedy.words, greedy.words[1:]))
    searched = BeamDecoder(bpe, BeamOptions(beam=8), 0.04)(log_probs)
    assert searched.text == greedy.text and searched.words == greedy.words
    words = tmp_path / "words.txt"
    words.write_text("seven\ntrains\nlove\n")  # "leave" is not on the list
    constrained = BeamDecoder(bpe, BeamOptions(beam=16, vocab=words), 0.04)(log_probs)
    assert set(constrained.text.split()) <= {"seven", "trains", "love"}
    assert constrained.text.startswith("seven trains")


def test_units_are_checked_in_the_config():
    with pytest.raises(AsrError, match="'model.units' must be char or bpe, not 'wordpiece'"):
        config_from_dict({"model": {"units": "wordpiece"}})
    with pytest.raises(AsrError, match="'model.bpe_size' must be at least 8"):
        config_from_dict({"model": {"units": "bpe", "bpe_size": 2}})


def test_an_exported_word_piece_model_transcribes_as_torch_does(bpe, tmp_path):
    pytest.importorskip("onnxruntime")
    from test_streaming import noise

    from asr.export import export
    from asr.onnx_runtime import OnnxRecognizer, OnnxTranscriber
    from asr.transcribe import Transcriber

    torch.manual_seed(0)
    cfg = Config(model=ModelConfig(encoder="gru", hidden=16, layers=1, units="bpe", bpe_size=40))
    model = CTCModel(cfg.model, 80, len(bpe)).eval()
    with torch.no_grad():
        model.head.weight.mul_(10)  # a best path that changes often
    save_model(tmp_path / "m.safetensors", model, cfg, bpe, FeatureStats.identity(80))
    export(tmp_path / "m.safetensors", tmp_path / "onnx")
    wave = noise(32000, seed=4)
    expected = Transcriber(load_model(tmp_path / "m.safetensors")).transcribe_wave(wave)
    assert expected.text
    assert OnnxTranscriber(tmp_path / "onnx").transcribe_wave(wave.numpy()) == expected
    streamer = OnnxRecognizer(tmp_path / "onnx")
    assert streamer.tokenizer.symbols == bpe.symbols


@pytest.mark.parametrize(
    "texts, size, message",
    [
        (["the quick brown fox jumps over the lazy dog"], 8, "model.bpe_size: 8 pieces cannot"),
        (["?! ...", ""], 40, "model.units: bpe, but the training text holds no words"),
    ],
)
def test_a_vocabulary_it_cannot_learn_is_one_line(texts, size, message):
    """Fewer pieces than the text has letters (plus the unknown), or no words at all: an
    AsrError naming the setting, not sentencepiece's internal error."""
    with pytest.raises(AsrError) as refused:
        BpeTokenizer.train(texts, size)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def test_as_many_pieces_as_letters_and_the_unknown_is_enough():
    text = "the quick brown fox jumps over the lazy dog"
    needed = len(set(text.replace(" ", ""))) + 1
    tokenizer = BpeTokenizer.train([text], needed)
    assert tokenizer.decode(tokenizer.encode(text)) == text
