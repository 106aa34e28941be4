"""NIST CTM, the word-time format Kaldi and sclite read: `NAME CHANNEL START DURATION WORD
CONF` per word, times in seconds. `asr transcribe --ctm FILE` writes one for all its inputs."""

from __future__ import annotations

from asr.decoding import Word


def ctm_lines(name: str, words: list[Word], channel: str = "1") -> list[str]:
    """One line per word of recording `name`; a word without a confidence gets none."""
    lines = []
    for w in words:
        conf = "" if w.confidence is None else f" {w.confidence:.3f}"
        lines.append(f"{name} {channel} {w.start:.2f} {w.end - w.start:.2f} {w.word}{conf}")
    return lines
