"""Turning manifest utterances into padded feature batches for training and validation."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from asr.audio import load_audio
from asr.augment import perturb_features, perturb_wave
from asr.config import AugmentConfig
from asr.features import FeatureSettings, FeatureStats, LogMel, StatsAccumulator
from asr.manifest import Utterance


@dataclass
class Batch:
    feats: torch.Tensor  # (B, T, F) normalized log-mels, zero-padded
    feat_lens: torch.Tensor  # (B,)
    targets: torch.Tensor  # (sum of label lengths,) token ids
    target_lens: torch.Tensor  # (B,)
    seconds: float  # audio seconds in the batch (for throughput)


class AudioCache:
    """Decoded waveforms kept in memory as int16: decoding Opus every epoch costs more than
    the model on these CPUs, and int16 halves the memory of float32."""

    def __init__(self, sample_rate: int):
        self.sample_rate = sample_rate
        self._waves: dict[str, torch.Tensor] = {}

    def get(self, path) -> torch.Tensor:
        key = str(path)
        if key not in self._waves:
            wave = load_audio(path, self.sample_rate)
            self._waves[key] = (wave.clamp(-1, 1) * 32767).round().to(torch.int16)
        return self._waves[key].float() / 32767

    def paths(self) -> list[str]:
        return list(self._waves)

    def stored(self, path) -> torch.Tensor:
        """The int16 samples of `path`, decoding it first if needed (to hand to `put`)."""
        self.get(path)
        return self._waves[str(path)]

    def put(self, path, samples: torch.Tensor) -> None:
        """Store int16 samples that `stored` gave (e.g. decoded in another process)."""
        self._waves[str(path)] = samples


class BatchMaker:
    def __init__(self, utterances: list[Utterance], settings: FeatureSettings, tokenizer):
        self.utterances = utterances
        self.settings = settings
        self.tokenizer = tokenizer
        self.logmel = LogMel(settings)
        self.cache = AudioCache(settings.sample_rate)

    def compute_stats(self, limit: int = 3000) -> FeatureStats:
        """Global CMVN statistics from (up to `limit` evenly spaced) training utterances."""
        acc = StatsAccumulator(self.settings.n_mels)
        step = max(1, math.ceil(len(self.utterances) / limit))  # floor would read up to 2x
        for utt in self.utterances[::step]:
            acc.add(self.logmel(self.cache.get(utt.audio)))
        return acc.result()

    def make(
        self,
        indices: list[int],
        stats: FeatureStats,
        augment: AugmentConfig | None = None,
        gen: torch.Generator | None = None,
    ) -> Batch:
        feats, targets, seconds = [], [], 0.0
        for i in indices:
            utt = self.utterances[i]
            wave = self.cache.get(utt.audio)
            if augment is not None:
                wave = perturb_wave(wave, self.settings.sample_rate, augment, gen)
            seconds += wave.shape[-1] / self.settings.sample_rate
            f = stats.normalize(self.logmel(wave))
            if augment is not None:
                f = perturb_features(f, augment, gen)
            feats.append(f)
            targets.append(torch.tensor(self.tokenizer.encode(utt.text), dtype=torch.long))
        return Batch(
            feats=torch.nn.utils.rnn.pad_sequence(feats, batch_first=True),
            feat_lens=torch.tensor([f.shape[0] for f in feats]),
            targets=torch.cat(targets) if targets else torch.zeros(0, dtype=torch.long),
            target_lens=torch.tensor([t.shape[0] for t in targets]),
            seconds=seconds,
        )
