"""Subtitles (SRT, WebVTT) from word times: what a transcript of a video is mostly for.

Cues follow the usual broadcast limits: at most two lines of 42 characters and 7 seconds,
and a pause of 0.6 s or more between words starts a new cue, so a cue never spans a silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asr.decoding import Word

LINE_CHARS = 42
MAX_LINES = 2
MAX_SECONDS = 7.0
PAUSE_SECONDS = 0.6


@dataclass
class Cue:
    start: float
    end: float
    lines: list[str]


def make_cues(words: list[Word]) -> list[Cue]:
    """Group timed words into cues within the limits above, in order."""
    groups: list[list[Word]] = []
    for word in words:
        current = groups[-1] if groups else None
        if (
            current is None
            or word.start - current[-1].end >= PAUSE_SECONDS
            or word.end - current[0].start > MAX_SECONDS
            or len(_wrap([w.word for w in current] + [word.word])) > MAX_LINES
        ):
            groups.append([word])
        else:
            current.append(word)
    return [Cue(g[0].start, g[-1].end, _wrap([w.word for w in g])) for g in groups]


def _wrap(words: list[str]) -> list[str]:
    """Words -> the fewest lines of at most LINE_CHARS (a longer word gets a line alone),
    balanced when two lines are needed, as subtitle readers expect."""
    text = " ".join(words)
    if len(text) <= LINE_CHARS:
        return [text]
    lines, line = [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > LINE_CHARS:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    if len(lines) == 2:  # the break nearest the middle that keeps both lines within limits
        splits = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
        fitting = [s for s in splits if max(map(len, s)) <= LINE_CHARS]
        if fitting:  # none where a word is over LINE_CHARS: the greedy lines stand
            lines = list(min(fitting, key=lambda s: abs(len(s[0]) - len(s[1]))))
    return lines


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_srt(cues: list[Cue]) -> str:
    blocks = [
        f"{n}\n{_timestamp(c.start, ',')} --> {_timestamp(c.end, ',')}\n" + "\n".join(c.lines)
        for n, c in enumerate(cues, start=1)
    ]
    return "\n\n".join(blocks) + "\n" if blocks else ""


def to_vtt(cues: list[Cue]) -> str:
    blocks = [
        f"{_timestamp(c.start, '.')} --> {_timestamp(c.end, '.')}\n" + "\n".join(c.lines)
        for c in cues
    ]
    return "WEBVTT\n\n" + "\n\n".join(blocks) + ("\n" if blocks else "")


FORMATS = {".srt": to_srt, ".vtt": to_vtt}


def write_subtitles(words: list[Word], name: str, folders: dict[str, Path]) -> list[Path]:
    """FOLDER/NAME.srt and/or FOLDER/NAME.vtt (`folders`: suffix -> FOLDER) for one
    recording's words; -> the files written."""
    cues = make_cues(words)
    written = []
    for suffix, folder in folders.items():
        folder.mkdir(parents=True, exist_ok=True)
        written.append(folder / f"{name}{suffix}")
        written[-1].write_text(FORMATS[suffix](cues), encoding="utf-8")
    return written
