"""Subword units: a sentencepiece BPE model over the training words, with '|' between words.

Why subwords: a character CTC model must spell every letter, so most of its errors are
misspellings; pieces of words let it emit fewer, surer units (icefall and ESPnet train on
BPE). Why '|' stays a token of its own, where sentencepiece marks a word's first piece with
'▁': every part of this toolkit finds words by their boundary token (word times, streaming
partials, forced alignment, the lexicon of the beam search), so with '|' they all work on
pieces unchanged. The pieces never cross a word: sentencepiece learns them from the words
one per line.

The model file carries the sentencepiece model (base64 in its header), so a model file alone
still transcribes; reading text back needs only the symbols, and sentencepiece is loaded
only to cut text into pieces (training, alignment, spelling a lexicon).
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Iterable, Sequence

from asr.errors import AsrError
from asr.text import CharTokenizer, normalize_text

BOUNDARY = CharTokenizer.space


class BpeTokenizer(CharTokenizer):
    """ids: 0 the CTC blank, 1 the word boundary '|', then the sentencepiece pieces. Reading
    ids back (decode, word boundaries, length) is the character tokenizer's own; only
    cutting text into units differs."""

    kind = "bpe"

    def __init__(self, model_proto: bytes, symbols: Sequence[str] | None = None):
        """`symbols` as stored in a model file: sentencepiece then loads on the first cut."""
        self.model_proto = model_proto
        if symbols is None:
            count = self._processor.get_piece_size()
            # sentencepiece's id 0 is its unknown piece: text it cannot cut is dropped, as
            # the character tokenizer drops characters outside its alphabet
            symbols = [
                "<blank>",
                BOUNDARY,
                *(self._processor.id_to_piece(i) for i in range(1, count)),
            ]
        super().__init__(symbols)

    @classmethod
    def train(cls, texts: Iterable[str], size: int) -> BpeTokenizer:
        """Learn `size` pieces (at most: a small text may hold fewer) from these transcripts."""
        import sentencepiece as spm

        words = [w for text in texts for w in normalize_text(text).split()]
        if not words:
            raise AsrError("model.units", "bpe, but the training text holds no words to learn from")
        # every letter is a piece of its own (character_coverage 1), and so is the unknown
        needed = len(set("".join(words))) + 1
        if size < needed:
            raise AsrError(
                "model.bpe_size",
                f"{size} pieces cannot hold the {needed - 1} letters of the training text and "
                f"the unknown piece; set it to at least {needed}",
            )
        proto = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(words), model_writer=proto, model_type="bpe",
            vocab_size=size, hard_vocab_limit=False, character_coverage=1.0,
            add_dummy_prefix=False, split_by_whitespace=True, unk_id=0, bos_id=-1, eos_id=-1,
            pad_id=-1, minloglevel=2, num_threads=1,
            normalization_rule_name="identity",  # the text comes normalized: no 240 KB table
        )  # fmt: skip
        return cls(proto.getvalue())

    @functools.cached_property
    def _processor(self):
        import sentencepiece as spm

        return spm.SentencePieceProcessor(model_proto=self.model_proto)

    def spell(self, word: str) -> list[str]:
        """A word's pieces (the beam search's lexicon spells each word so); [] if unknown."""
        pieces = self._processor.encode(word, out_type=str)
        return pieces if all(p in self._index for p in pieces) else []

    def encode(self, text: str) -> list[int]:
        """Normalized text -> ids, words apart by the boundary token."""
        ids: list[int] = []
        for word in normalize_text(text).split():
            pieces = [self._index[p] for p in self._processor.encode(word, out_type=str)
                      if p in self._index]  # fmt: skip
            if pieces:
                ids += ([1] if ids else []) + pieces
        return ids

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "symbols": self.symbols,
            "model": base64.b64encode(self.model_proto).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: dict) -> BpeTokenizer:
        return cls(base64.b64decode(data["model"]), data["symbols"])
