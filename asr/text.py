"""Text normalization and tokenization.

Why one module: training labels, decoder output and WER scoring must agree on what a
"word" is, so every path normalizes through `normalize_text`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Protocol

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_KEEP = re.compile(r"[^a-z' ]+")
_SPACES = re.compile(r"\s+")


def _spell_number(match: re.Match) -> str:
    from num2words import num2words

    token = match.group(0).replace(",", "")
    try:
        return " " + num2words(float(token) if "." in token else int(token)) + " "
    except (ValueError, OverflowError, NotImplementedError):
        return " "


def _spell_ordinal(match: re.Match) -> str:
    from num2words import num2words

    return " " + num2words(int(match.group(1)), to="ordinal") + " "


def normalize_text(text: str) -> str:
    """Lower-case, spell out digits, strip punctuation: 'Dr. Who, 42!' -> 'dr who forty two'."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = _ORDINAL.sub(_spell_ordinal, text)
    text = _NUMBER.sub(_spell_number, text)
    text = text.lower().replace("-", " ").replace("&", " and ")
    text = _KEEP.sub(" ", text)
    # Apostrophes survive only inside words ("don't"), not as quotes.
    text = " ".join(w.strip("'") for w in text.split())
    return _SPACES.sub(" ", text).strip()


class Tokenizer(Protocol):
    """What the model, decoder and checkpoint need from a tokenizer: characters
    (`CharTokenizer`) or word pieces (`asr.bpe.BpeTokenizer`), both with '|' between words."""

    kind: str  # "char" or "bpe": what a model file's header records
    blank_id: int
    symbols: list[str]

    def __len__(self) -> int: ...
    def encode(self, text: str) -> list[int]: ...
    def decode(self, ids: Sequence[int]) -> str: ...
    def is_word_boundary(self, token_id: int) -> bool: ...
    def spell(self, word: str) -> list[str]: ...
    def to_dict(self) -> dict: ...


class CharTokenizer:
    """Characters of normalized text; id 0 is the CTC blank, '|' marks a word boundary."""

    kind = "char"
    blank_id = 0
    space = "|"

    def __init__(self, symbols: Sequence[str] | None = None):
        if symbols is None:
            symbols = ["<blank>", self.space, "'"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
        if symbols[0] != "<blank>":
            raise ValueError("the first symbol must be the CTC blank '<blank>'")
        self.symbols = list(symbols)
        self._index = {s: i for i, s in enumerate(self.symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    def encode(self, text: str) -> list[int]:
        """Normalized text -> ids; characters outside the vocabulary are dropped."""
        chars = normalize_text(text).replace(" ", self.space)
        return [self._index[c] for c in chars if c in self._index]

    def decode(self, ids: Sequence[int]) -> str:
        chars = "".join(self.symbols[i] for i in ids if i != self.blank_id)
        return " ".join(chars.replace(self.space, " ").split())

    def is_word_boundary(self, token_id: int) -> bool:
        return self.symbols[token_id] == self.space

    def spell(self, word: str) -> list[str]:
        """A word's symbols (the beam search's lexicon spells each word so); [] if it has a
        character outside the alphabet."""
        return list(word) if all(c in self._index for c in word) else []

    def to_dict(self) -> dict:
        return {"kind": self.kind, "symbols": self.symbols}


def tokenizer_from_dict(data: dict) -> Tokenizer:
    """Rebuild the tokenizer stored in a checkpoint."""
    if data.get("kind") == "bpe":
        from asr.bpe import BpeTokenizer

        return BpeTokenizer.from_dict(data)
    if data.get("kind") != "char":
        raise ValueError(f"unknown tokenizer kind {data.get('kind')!r}")
    return CharTokenizer(data["symbols"])
