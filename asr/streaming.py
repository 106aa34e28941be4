"""Streaming recognition: a `Recognizer` holds the model, each `Stream` holds everything else.

Use it like sherpa-onnx: `stream = recognizer.create_stream()`, then per chunk of audio
`stream.accept_waveform(samples)` and `finals = recognizer.decode(stream)`, showing
`stream.partial` meanwhile; `stream.input_finished()` makes the next decode flush the last one.

Audio goes through the same LogMel, normalization, front end, encoder and head as offline,
chunk by chunk, with the state in plain tensors (`StreamState`) that `Recognizer.step` never
mutates; so a stream emits exactly the tokens offline greedy decoding gives on the same audio,
whatever the chunk boundaries.

At an endpoint the utterance's hypothesis is finalized and cleared, but the encoder state is
kept: the hidden state carries no text, and keeping it keeps the stream equal to offline
decoding of everything heard so far (and word times measured from the start of the stream).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import torch

from asr.beam import BeamDecoder, BeamOptions
from asr.checkpoint import LoadedModel, load_model
from asr.decoding import Hypothesis, Word, collapse_path, words_from_tokens
from asr.errors import AsrError
from asr.text import CharTokenizer
from asr.transcribe import Transcriber


@dataclass(frozen=True)
class EndpointRules:
    """When an utterance ends; either rule needs at least one decoded token in it."""

    min_trailing_blank_s: float = 0.8  # this much blank after the last token ends it
    max_utterance_s: float = 30.0  # from its first token; ends it even mid-word (0: no limit)

    def reached(self, trailing_blank_s: float, utterance_s: float) -> bool:
        eps = 1e-9  # frame counts times frame seconds land a hair either side of round values
        too_long = 0 < self.max_utterance_s <= utterance_s + eps
        return trailing_blank_s + eps >= self.min_trailing_blank_s or too_long


class StreamState(NamedTuple):
    """What the model needs between chunks, as plain tensors (so it can be exported as is)."""

    samples: torch.Tensor  # (P,) audio not yet framed: less than one analysis window
    feats: torch.Tensor  # (1, P, F) normalized frames the conv front end has not used up
    encoder: torch.Tensor  # the encoder's recurrent state, (layers, 1, H) for gru


@dataclass
class Stream:
    """One audio stream: audio not yet decoded, model state, and the current utterance."""

    state: StreamState
    tokenizer: CharTokenizer
    frame_seconds: float  # seconds per encoder frame
    audio: list[torch.Tensor] = field(default_factory=list)  # accepted, not yet decoded
    finished: bool = False  # no more audio comes; the next decode flushes the final
    decoded_frames: int = 0  # encoder frames decoded so far: the stream's time offset
    last_token: int | None = None  # best token of the last decoded frame, to merge repeats
    last_speech: int = -1  # last frame whose best token was not blank
    tokens: list[tuple[int, int]] = field(default_factory=list)  # (frame, token), this utterance
    beam: BeamDecoder | None = None  # beam search over this utterance (None: greedy)
    beam_start: int = 0  # stream frame at which the beam search's utterance began

    def accept_waveform(self, samples) -> None:
        """samples: (N,) float audio at the model's sample rate (copied: buffers may be reused)."""
        if self.finished:
            raise ValueError("input_finished() was called on this stream; create a new one")
        wave = torch.as_tensor(samples, dtype=torch.float32).clone()
        if wave.dim() != 1:
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
    def partial(self) -> Hypothesis:
        """The current utterance so far, word times in seconds from the start of the stream."""
        if self.beam is not None:
            return shifted(self.beam.partial(), self.beam_start * self.frame_seconds)
        return words_from_tokens(self.tokens, self.tokenizer, self.frame_seconds)

    def end_utterance(self) -> Hypothesis:
        """Close the current utterance: its final hypothesis; the next one starts empty."""
        if self.beam is not None:
            final = shifted(self.beam.end(), self.beam_start * self.frame_seconds)
            self.beam.begin()
            self.beam_start = self.decoded_frames
        else:
            final = self.partial
        self.tokens = []
        return final


def shifted(hyp: Hypothesis, seconds: float) -> Hypothesis:
    """Word times moved by `seconds`: utterance-relative to stream-relative."""
    words = [Word(w.word, w.start + seconds, w.end + seconds) for w in hyp.words]
    return Hypothesis(hyp.text, words)


class Recognizer(Transcriber):
    """A causal model that decodes streams; it keeps no per-stream state.

    Being a `Transcriber`, it shares the offline path's features and frame timing, and can
    still transcribe whole files.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        rules: EndpointRules = EndpointRules(),
        beam: BeamOptions | None = None,
    ):
        if not loaded.model.causal:
            name = loaded.config.model.encoder
            reason = "cannot stream: it reads the future; use a causal encoder such as gru"
            raise AsrError(f"encoder '{name}'", reason)
        super().__init__(loaded, beam)
        self.rules = rules

    @classmethod
    def from_file(
        cls,
        path: str | Path | None = None,
        rules: EndpointRules = EndpointRules(),
        beam: BeamOptions | None = None,
    ) -> Recognizer:
        return cls(load_model(path), rules, beam)

    def init_state(self) -> StreamState:
        feats, encoder = self.loaded.model.init_state(1)
        return StreamState(self.logmel.init_state(), feats, encoder)

    @torch.inference_mode()
    def step(self, samples: torch.Tensor, state: StreamState) -> tuple[torch.Tensor, StreamState]:
        """samples: (N,) new audio -> (T', V) log-probs of the encoder frames it completes,
        new state. Chunk by chunk this equals `log_probs` on all the audio; `state` is untouched.
        """
        feats, pending = self.logmel.step(samples, state.samples)  # (T, F)
        feats = self.loaded.stats.normalize(feats).unsqueeze(0)  # (1, T, F)
        model_state = (state.feats, state.encoder)
        log_probs, (buffered, encoder) = self.loaded.model.step(feats, model_state)  # (1, T', V)
        return log_probs[0], StreamState(pending, buffered, encoder)

    def create_stream(self) -> Stream:
        """A new stream; with beam search each stream gets its own search state."""
        stream = Stream(self.init_state(), self.loaded.tokenizer, self.frame_seconds)
        stream.beam = self.new_beam_decoder()
        if stream.beam is not None:
            stream.beam.begin()
        return stream

    def decode(self, stream: Stream) -> list[Hypothesis]:
        """Decode the audio the stream has accepted -> the utterances that ended (often none)."""
        finals = []
        if stream.audio:
            samples = torch.cat(stream.audio)
            stream.audio = []
            log_probs, stream.state = self.step(samples, stream.state)
            finals = self.search(stream, log_probs)
        if stream.finished and stream.tokens:
            finals.append(stream.end_utterance())
        return finals

    def search(self, stream: Stream, log_probs: torch.Tensor) -> list[Hypothesis]:
        """log_probs: (T', V) of the stream's next frames -> the utterances that ended in them.

        Greedy CTC, checking the endpoint rules after every frame, so where chunks fall does
        not move an endpoint.
        """
        best = log_probs.argmax(dim=-1).tolist()
        blank = self.loaded.tokenizer.blank_id
        emitted = dict(collapse_path(best, blank, stream.last_token, stream.decoded_frames))
        finals, fed, first = [], 0, stream.decoded_frames
        for frame, token in enumerate(best, start=first):
            if frame in emitted:
                stream.tokens.append((frame, token))
            if token != blank:
                stream.last_speech = frame
            if stream.tokens and self._endpoint(stream, frame):
                if stream.beam is not None:  # the beam sees exactly this utterance's frames
                    stream.beam.step(log_probs[fed : frame + 1 - first])
                    fed = frame + 1 - first
                stream.decoded_frames = frame + 1
                finals.append(stream.end_utterance())
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
