"""CTC decoding: best path (greedy) with word start and end times."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Word:
    word: str
    start: float  # seconds from the start of the audio
    end: float

    def to_dict(self) -> dict:
        return {"word": self.word, "start": round(self.start, 3), "end": round(self.end, 3)}


@dataclass
class Hypothesis:
    text: str
    words: list[Word] = field(default_factory=list)


def greedy_decode(log_probs: torch.Tensor, tokenizer, frame_seconds: float) -> Hypothesis:
    """log_probs: (T, V) for one utterance -> text and word times.

    Best path: argmax per frame, merge repeats, drop blanks. A word starts at the frame of
    its first character and ends one frame after its last.
    """
    best = log_probs.argmax(dim=-1).tolist()
    emitted = [
        (t, token)
        for t, token in enumerate(best)
        if token != tokenizer.blank_id and (t == 0 or token != best[t - 1])
    ]
    return words_from_tokens(emitted, tokenizer, frame_seconds)


def words_from_tokens(
    emitted: list[tuple[int, int]], tokenizer, frame_seconds: float
) -> Hypothesis:
    """(frame, token) pairs in time order -> words split at word-boundary tokens, with times."""
    words: list[Word] = []
    group: list[tuple[int, int]] = []
    for frame, token in emitted + [(-1, None)]:
        if token is None or tokenizer.is_word_boundary(token):
            if group:
                text = tokenizer.decode([tok for _, tok in group])
                start, end = group[0][0] * frame_seconds, (group[-1][0] + 1) * frame_seconds
                words.append(Word(text, start, end))
            group = []
        else:
            group.append((frame, token))
    return Hypothesis(" ".join(w.word for w in words), words)
