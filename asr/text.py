"""Text normalization and tokenization.

Why one module: training labels, decoder output and WER scoring must agree on what a
"word" is, so every path normalizes through `normalize_text`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Protocol

# Characters NFKD leaves alone, which the ASCII step would otherwise drop ('don’t' -> 'dont').
_ASCII_SPELLING = str.maketrans(
    {
        "\u2019": "'", "\u2018": "'", "\u201b": "'", "\u02bc": "'", "\u2032": "'",
        "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
        "\u2044": "/",  # fraction slash: '3⁄4' must not read as 34
    }
)  # fmt: skip
_VULGAR_FRACTION = re.compile(r"(\d?)([\u00bc-\u00be\u2150-\u215e\u2189])")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Kaldi-style markers, '[laughter]', '<unk>'; an angle one holds no space, so 'x < 5 > y' stays.
_MARKER = re.compile(r"\[[^\[\]]*\]|<[^<>\s]+>")
_NUMBER = re.compile(r"(?P<numeral>\d+(?:[.,]\d+)*)(?:(?P<suffix>st|nd|rd|th)\b)?", re.IGNORECASE)
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_KEEP = re.compile(r"[^a-z' ]+")
_SPACES = re.compile(r"\s+")


def _spell_fraction(match: re.Match) -> str:
    """'½' -> 'one half', '1½' -> '1 and a half': the words are the character's Unicode name."""
    whole, fraction = match.groups()
    words = unicodedata.name(fraction).removeprefix("VULGAR FRACTION ").lower()
    if whole and words.startswith("one "):
        words = "a " + words.removeprefix("one ")
    return f"{whole} and {words} " if whole else f" {words} "


def _ascii_gap(match: re.Match) -> str:
    """A letter or accent NFKD could not turn into ASCII is dropped, keeping its word whole;
    any other symbol (dash, bullet, arrow) becomes a space so it does not glue words together."""
    return "" if unicodedata.category(match.group(0))[0] in "LM" else " "


def _to_ascii(text: str) -> str:
    """Unicode -> ASCII, converting what NFKD alone would drop or mangle ('½' -> '1⁄2')."""
    text = _VULGAR_FRACTION.sub(_spell_fraction, text.translate(_ASCII_SPELLING))
    return _NON_ASCII.sub(_ascii_gap, unicodedata.normalize("NFKD", text))


def _spell_digits(digits: str) -> str:
    return " ".join(_DIGIT_WORDS[int(d)] for d in digits)


def _spell_integer(digits: str) -> str:
    """'42' -> 'forty-two'; digit by digit where a cardinal would lose digits ('007')."""
    from num2words import num2words

    if len(digits) > 1 and digits.startswith("0"):
        return _spell_digits(digits)
    try:
        return num2words(int(digits))
    except (OverflowError, NotImplementedError, ValueError):  # ValueError: int()'s digit limit
        return _spell_digits(digits)


def _spell_number(match: re.Match) -> str:
    """A numeral, with its ordinal suffix if any -> words, by the rules `normalize_text`
    states."""
    from num2words import num2words

    numeral, suffix = match["numeral"], match["suffix"]
    if _THOUSANDS.fullmatch(numeral):
        numeral = numeral.replace(",", "")
    # An ordinal the cardinal rules would read digit by digit ('05th', a 400-digit one) is
    # read so too; an odd one ('1.5th') keeps its number; either loses its suffix.
    if suffix and numeral.isdigit() and not (len(numeral) > 1 and numeral.startswith("0")):
        try:
            return f" {num2words(int(numeral), to='ordinal')} "
        except (OverflowError, NotImplementedError, ValueError):
            pass
    # Any comma left separates numbers: '1,2,3'.
    return " " + " ".join(_spell_dotted(part) for part in numeral.split(",")) + " "


def _spell_dotted(part: str) -> str:
    """Digits with dots -> words: one dot is a decimal point, whose digits are each read,
    trailing zeros too; more are versions or addresses, read group by group."""
    groups = part.split(".")
    if len(groups) == 2:
        return f"{_spell_integer(groups[0])} point {_spell_digits(groups[1])}"
    return " point ".join(_spell_integer(group) for group in groups)


def normalize_text(text: str) -> str:
    """Lower-case, spell out numbers, strip punctuation: 'Dr. Who, 42!' -> 'dr who forty two'.

    Noise and unknown-word markers in square or angle brackets ('[noise]', '<unk>') are
    dropped, as Whisper's English normalizer drops bracketed text: they are not words spoken.
    Numbers: '1,000' is one thousand, any other comma separates numbers ('1,2' -> 'one two');
    one dot is a decimal point ('10.30' -> 'ten point three zero'); versions and addresses
    are read group by group with 'point' ('2.0.1' -> 'two point zero point one').
    """
    text = _MARKER.sub(" ", _to_ascii(text))
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
