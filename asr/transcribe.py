"""Offline transcription: a whole file or waveform through features, model and decoder."""

from __future__ import annotations

from pathlib import Path

import torch

from asr.audio import load_audio
from asr.checkpoint import LoadedModel, load_model
from asr.decoding import Hypothesis, greedy_decode
from asr.features import LogMel
from asr.model import SUBSAMPLING


class Transcriber:
    """Holds a loaded model and turns audio into text with word times."""

    def __init__(self, loaded: LoadedModel):
        self.loaded = loaded
        self.settings = loaded.config.features
        self.logmel = LogMel(self.settings)
        self.frame_seconds = SUBSAMPLING * self.settings.hop_length / self.settings.sample_rate

    @classmethod
    def from_file(cls, path: str | Path | None = None) -> Transcriber:
        return cls(load_model(path))

    @torch.inference_mode()
    def log_probs(self, wave: torch.Tensor) -> torch.Tensor:
        """(N,) waveform at the model rate -> (T', V) CTC log-probabilities."""
        feats = self.loaded.stats.normalize(self.logmel(wave))  # (T, F)
        if feats.shape[0] == 0:
            return torch.zeros(0, len(self.loaded.tokenizer))
        lens = torch.tensor([feats.shape[0]])
        log_probs, out_lens = self.loaded.model(feats.unsqueeze(0), lens)
        return log_probs[0, : int(out_lens[0])]

    def transcribe_wave(self, wave: torch.Tensor) -> Hypothesis:
        return greedy_decode(self.log_probs(wave), self.loaded.tokenizer, self.frame_seconds)

    def transcribe_file(self, path: str | Path) -> Hypothesis:
        return self.transcribe_wave(load_audio(path, self.settings.sample_rate))
