"""Streams and the search over them, free of torch (the ONNX runtime uses them too).

A `Stream` holds one audio stream's state: audio not yet decoded, the model's state, and the
current utterance. `StreamDecoder` turns a model's `step` into partial and final hypotheses,
checking the endpoint rules after every frame so where chunks fall never moves an endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from asr.confidence import Calibration, frame_confidence, word_confidences
from asr.decoding import Hypothesis, best_of, collapse_path, words_from_tokens
from asr.segment import WHOLE_SECONDS
from asr.text import Tokenizer


@dataclass(frozen=True)
class EndpointRules:
    """When an utterance ends; either rule needs at least one decoded token in it."""

    min_trailing_blank_s: float = 0.8  # this much blank after the last token ends it
    max_utterance_s: float = 30.0  # from its first token; ends it even mid-word (0: no limit)

    def reached(self, trailing_blank_s: float, utterance_s: float) -> bool:
        eps = 1e-9  # frame counts times frame seconds land a hair either side of round values
        too_long = 0 < self.max_utterance_s <= utterance_s + eps
        return trailing_blank_s + eps >= self.min_trailing_blank_s or too_long


DEFAULT_RULES = EndpointRules()

# A beam search holds every frame it has searched until its utterance ends, and an utterance
# ends only at an endpoint, which needs a word: over silence or low noise it would grow
# without bound (~4 MB and 0.4 ms per chunk more each minute with the bundled LM). So a
# search with no greedy token in it is ended after this long: quietly if it found nothing,
# as a final if it did. Offline decoding searches recordings up to WHOLE_SECONDS in one piece
# (longer ones in pieces of at most 10 s), so a stream of audio it searches whole is never cut.
QUIET_SEARCH_S = WHOLE_SECONDS


@dataclass
class Stream:
    """One audio stream: audio not yet decoded, model state, and the current utterance."""

    state: tuple  # the model's state between chunks (plain arrays; see StreamState)
    tokenizer: Tokenizer
    frame_seconds: float  # seconds per encoder frame
    audio: list[np.ndarray] = field(default_factory=list)  # accepted, not yet decoded
    finished: bool = False  # no more audio comes; the next decode flushes the final
    decoded_frames: int = 0  # encoder frames decoded so far: the stream's time offset
    last_token: int | None = None  # best token of the last decoded frame, to merge repeats
    last_speech: int = -1  # last frame whose best token was not blank
    tokens: list[tuple[int, int]] = field(default_factory=list)  # (frame, token), this utterance
    beam: object | None = None  # a BeamDecoder over this utterance (None: greedy)
    beam_start: int = 0  # stream frame at which the beam search's utterance began
    # frame confidences (asr.confidence.frame_confidence) from stream frame `confidence_from`
    # on: the current utterance's, for its words' confidences
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    confidence_from: int = 0
    calibration: Calibration | None = None  # the model's map from raw scores to probabilities
    alternatives: int = 0  # how many best transcripts each final lists (beam search only)

    def accept_waveform(self, samples) -> None:
        """samples: (N,) float audio at the model's sample rate (copied: buffers may be reused)."""
        if self.finished:
            raise ValueError("input_finished() was called on this stream; create a new one")
        wave = np.asarray(samples, dtype=np.float32).copy()  # from numpy or a CPU tensor
        if wave.ndim != 1:
            raise ValueError(f"expected mono samples of shape (N,), got {tuple(wave.shape)}")
        self.audio.append(wave)

    def input_finished(self) -> None:
        """No more audio: the next `Recognizer.decode` decodes the rest and flushes the final."""
        self.finished = True

    @property
    def seconds(self) -> float:
        """Audio decoded so far, in whole encoder frames."""
        return self.decoded_frames * self.frame_seconds

    @property
    def has_words(self) -> bool:
        """Whether the current utterance has something to finalize: greedy tokens, or words
        only the beam search found (letters a little under the blank on every frame)."""
        return bool(self.tokens) or (self.beam is not None and bool(self.beam.partial().text))

    @property
    def partial(self) -> Hypothesis:
        """The current utterance so far, word times in seconds from the start of the stream."""
        if self.beam is not None:
            return self._scored(shifted(self.beam.partial(), self.beam_start * self.frame_seconds))
        return self._scored(self._best_path())

    def _best_path(self) -> Hypothesis:
        return words_from_tokens(self.tokens, self.tokenizer, self.frame_seconds)

    def _scored(self, hyp: Hypothesis) -> Hypothesis:
        """`hyp` with word confidences (a beam's words checked against the best path)."""
        best_path = self._best_path() if self.beam is not None else None
        return word_confidences(
            hyp, self.confidence, self.frame_seconds, self.confidence_from, best_path,
            self.calibration,
        )  # fmt: skip

    def add_confidence(self, log_probs) -> None:
        """Frame confidences of the next decoded frames. Between utterances only the last
        SILENT_CONFIDENCE_FRAMES before them are kept: an hour of silence costs no memory."""
        if not self.tokens and len(self.confidence) > SILENT_CONFIDENCE_FRAMES:
            drop = len(self.confidence) - SILENT_CONFIDENCE_FRAMES
            self.confidence = self.confidence[drop:]
            self.confidence_from += drop
        self.confidence = np.concatenate([self.confidence, frame_confidence(log_probs)])

    def end_utterance(self) -> Hypothesis:
        """Close the current utterance: its final hypothesis; the next one starts empty."""
        if self.beam is not None:
            offset = self.beam_start * self.frame_seconds
            found = self.beam.end_nbest(max(self.alternatives, 1))
            final = best_of(
                found, lambda hyp: self._scored(shifted(hyp, offset)), self.alternatives
            )
            self.beam.begin()
            self.beam_start = self.decoded_frames
        else:
            final = self.partial
        self.tokens = []
        done = self.decoded_frames - self.confidence_from  # frames up to the endpoint
        self.confidence, self.confidence_from = self.confidence[done:], self.decoded_frames
        return final


SILENT_CONFIDENCE_FRAMES = 100  # 4 s of encoder frames


def shifted(hyp: Hypothesis, seconds: float) -> Hypothesis:
    """Word times moved by `seconds`: utterance-relative to stream-relative."""
    return Hypothesis(hyp.text, [w.shifted(seconds) for w in hyp.words])


class StreamDecoder:
    """Greedy (or beam) search with endpointing over a model's streaming `step`.

    Mixed into a class that has `tokenizer`, `frame_seconds`, `calibration`, `rules`,
    `init_state()`, `step(samples, state) -> (log_probs (T', V), state)` and
    `new_beam_decoder()`: the torch `Recognizer` and the onnxruntime `OnnxRecognizer` share
    this search, so both stream alike.
    """

    def create_stream(self) -> Stream:
        """A new stream; with beam search each stream gets its own search state."""
        stream = Stream(self.init_state(), self.tokenizer, self.frame_seconds)
        stream.calibration = self.calibration
        stream.alternatives = self.alternatives
        stream.beam = self.new_beam_decoder()
        if stream.beam is not None:
            stream.beam.begin()
        return stream

    def decode(self, stream: Stream) -> list[Hypothesis]:
        """Decode the audio the stream has accepted -> the utterances that ended (often none)."""
        finals = []
        if stream.audio:
            samples = np.concatenate(stream.audio)
            stream.audio = []
            log_probs, stream.state = self.step(samples, stream.state)
            finals = self.search(stream, log_probs)
        if stream.finished and stream.has_words:
            finals.append(stream.end_utterance())
        return finals

    def search(self, stream: Stream, log_probs) -> list[Hypothesis]:
        """log_probs: (T', V) of the stream's next frames -> the utterances that ended in them.

        Greedy CTC, checking the endpoint rules after every frame, so where chunks fall does
        not move an endpoint. A beam search without a greedy token for QUIET_SEARCH_S is
        ended (see there), at a frame chunks do not move either.
        """
        best = log_probs.argmax(-1).tolist()  # torch or numpy
        blank = self.tokenizer.blank_id
        emitted = dict(collapse_path(best, blank, stream.last_token, stream.decoded_frames))
        stream.add_confidence(log_probs)
        finals, fed, first = [], 0, stream.decoded_frames
        quiet_frames = round(QUIET_SEARCH_S / self.frame_seconds)
        for frame, token in enumerate(best, start=first):
            if frame in emitted:
                stream.tokens.append((frame, token))
            if token != blank:
                stream.last_speech = frame
            endpoint = bool(stream.tokens) and self._endpoint(stream, frame)
            quiet = (stream.beam is not None and not stream.tokens
                     and frame + 1 - stream.beam_start >= quiet_frames)  # fmt: skip
            if not (endpoint or quiet):
                continue
            if stream.beam is not None:  # the beam sees exactly this utterance's frames
                stream.beam.step(log_probs[fed : frame + 1 - first])
                fed = frame + 1 - first
            stream.decoded_frames = frame + 1
            if endpoint or stream.has_words:
                finals.append(stream.end_utterance())
            else:  # nothing found: start the search again, no final
                stream.beam.begin()
                stream.beam_start = stream.decoded_frames
        if stream.beam is not None:
            stream.beam.step(log_probs[fed:])
        stream.decoded_frames = first + len(best)
        stream.last_token = best[-1] if best else stream.last_token
        return finals

    def _endpoint(self, stream: Stream, frame: int) -> bool:
        """Whether the utterance is over after `frame` (which has been decoded)."""
        trailing = (frame - stream.last_speech) * self.frame_seconds
        length = (frame + 1 - stream.tokens[0][0]) * self.frame_seconds
        return self.rules.reached(trailing, length)
