"""NIST CTM, the word-time format Kaldi and sclite read: `NAME CHANNEL START DURATION WORD
CONF` per word, times in seconds. `asr transcribe --ctm FILE` writes one for all its inputs."""

from __future__ import annotations

import re

from asr.decoding import Word


def ctm_name(name: str) -> str:
    """A recording name as one CTM field: its whitespace as '_' ("my talk" -> "my_talk"),
    since readers split CTM lines on whitespace."""
    return re.sub(r"\s+", "_", name)


def ctm_lines(name: str, words: list[Word], channel: str = "1") -> list[str]:
    """One line per word of recording `name`; a word without a confidence gets none."""
    name, lines = ctm_name(name), []
    for w in words:
        conf = "" if w.confidence is None else f" {w.confidence:.3f}"
        lines.append(f"{name} {channel} {w.start:.2f} {w.end - w.start:.2f} {w.word}{conf}")
    return lines
