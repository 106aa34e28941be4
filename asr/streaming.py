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

from pathlib import Path
from typing import NamedTuple

import torch

from asr.beam import BeamOptions
from asr.checkpoint import LoadedModel, load_model
from asr.errors import AsrError
from asr.stream import DEFAULT_RULES, EndpointRules, Stream, StreamDecoder, shifted
from asr.transcribe import Transcriber

__all__ = ["EndpointRules", "Recognizer", "Stream", "StreamState", "shifted"]


class StreamState(NamedTuple):
    """What the model needs between chunks, as plain tensors (so it can be exported as is)."""

    samples: torch.Tensor  # (P,) audio not yet framed: less than one analysis window
    feats: torch.Tensor  # (1, P, F) normalized frames the conv front end has not used up
    encoder: torch.Tensor  # the encoder's recurrent state, (layers, 1, H) for gru


class Recognizer(Transcriber, StreamDecoder):
    """A causal model that decodes streams; it keeps no per-stream state.

    Being a `Transcriber`, it shares the offline path's features and frame timing, and can
    still transcribe whole files.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        rules: EndpointRules = DEFAULT_RULES,
        beam: BeamOptions | None = None,
        alternatives: int = 0,
    ):
        if not loaded.model.causal:
            name = loaded.config.model.encoder
            reason = "cannot stream: it reads the future; use a causal encoder such as gru"
            raise AsrError(f"encoder '{name}'", reason)
        super().__init__(loaded, beam, alternatives)
        self.rules = rules

    @classmethod
    def from_file(
        cls,
        path: str | Path | None = None,
        rules: EndpointRules = DEFAULT_RULES,
        beam: BeamOptions | None = None,
        alternatives: int = 0,
    ) -> Recognizer:
        return cls(load_model(path), rules, beam, alternatives)

    def init_state(self) -> StreamState:
        feats, encoder = self.loaded.model.init_state(1)
        return StreamState(self.logmel.init_state(), feats, encoder)

    @torch.inference_mode()
    def step(self, samples, state: StreamState) -> tuple[torch.Tensor, StreamState]:
        """samples: (N,) new audio -> (T', V) log-probs of the encoder frames it completes,
        new state. Chunk by chunk this equals `log_probs` on all the audio; `state` is untouched.
        """
        samples = torch.as_tensor(samples, dtype=torch.float32)
        feats, pending = self.logmel.step(samples, state.samples)  # (T, F)
        feats = self.loaded.stats.normalize(feats).unsqueeze(0)  # (1, T, F)
        model_state = (state.feats, state.encoder)
        log_probs, (buffered, encoder) = self.loaded.model.step(feats, model_state)  # (1, T', V)
        return log_probs[0], StreamState(pending, buffered, encoder)
