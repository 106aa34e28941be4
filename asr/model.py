"""The acoustic model: conv front end (4x subsampling) -> encoder -> linear CTC head."""

from __future__ import annotations

import torch
from torch import nn

from asr.config import ModelConfig
from asr.encoders import ENCODERS
from asr.errors import AsrError

SUBSAMPLING = 4  # feature frames per encoder frame
MIN_FRAMES = 7  # the two valid 3x3 convolutions need this many feature frames


def subsampled_lengths(lens: torch.Tensor) -> torch.Tensor:
    """Feature frames -> encoder frames for two stride-2, kernel-3 convolutions without padding."""
    return (((lens - 1) // 2 - 1) // 2).clamp_min(0)


class ConvSubsampling(nn.Module):
    """(B, T, F) -> (B, ~T/4, D): cheap downsampling so the recurrent layers run at 25 Hz."""

    def __init__(self, n_mels: int, channels: int, out_dim: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, stride=2),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=2),
            nn.ReLU(),
        )
        freq = ((n_mels - 1) // 2 - 1) // 2
        self.proj = nn.Linear(channels * freq, out_dim)
        self.n_mels = n_mels

    def forward(self, x: torch.Tensor, lens: torch.Tensor):
        if x.shape[1] < MIN_FRAMES:
            x = nn.functional.pad(x, (0, 0, 0, MIN_FRAMES - x.shape[1]))
        return self._project(x), subsampled_lengths(lens)

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, F) with T >= MIN_FRAMES -> (B, T', D)."""
        y = self.conv(x.unsqueeze(1))  # (B, C, T', F')
        b, c, t, f = y.shape
        return self.proj(y.transpose(1, 2).reshape(b, t, c * f))  # (B, T', D)

    def init_state(self, batch: int) -> torch.Tensor:
        """(B, 0, F): no feature frames buffered yet."""
        return self.proj.weight.new_zeros(batch, 0, self.n_mels)

    def step(self, feats: torch.Tensor, pending: torch.Tensor):
        """feats: (B, T, F) new frames, pending: (B, P, F) frames left by the last call ->
        (B, T', D) the encoder frames now complete, new pending (3 to 6 frames once started).

        Output frame k reads feature frames 4k..4k+6, so chunked output equals `forward` on the
        whole input; unlike `forward`, nothing comes out until MIN_FRAMES frames exist.
        """
        x = torch.cat([pending, feats], dim=1)
        done = int(subsampled_lengths(torch.tensor(x.shape[1])))
        if done == 0:
            return x.new_zeros(x.shape[0], 0, self.proj.out_features), x
        return self._project(x), x[:, SUBSAMPLING * done :]


class CTCModel(nn.Module):
    def __init__(self, cfg: ModelConfig, n_mels: int, vocab_size: int):
        super().__init__()
        if cfg.encoder not in ENCODERS:
            known = ", ".join(sorted(ENCODERS))
            raise AsrError("config", f"unknown encoder '{cfg.encoder}' (known: {known})")
        self.frontend = ConvSubsampling(n_mels, cfg.frontend_channels, cfg.hidden)
        self.encoder = ENCODERS[cfg.encoder](cfg.hidden, cfg)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(self.encoder.output_dim, vocab_size)

    @property
    def causal(self) -> bool:
        return self.encoder.causal

    def forward(self, feats: torch.Tensor, lens: torch.Tensor, tbptt_frames: int = 0):
        """feats: (B, T, F) normalized log-mels -> log-probs (B, T', V), lengths (B,)."""
        x, x_lens = self.frontend(feats, lens)
        y, y_lens = self.encoder(x, x_lens, tbptt_frames=tbptt_frames)
        return self._log_probs(y), y_lens

    def _log_probs(self, y: torch.Tensor) -> torch.Tensor:
        """(B, T', H) encoder output -> (B, T', V) CTC log-probabilities."""
        return self.head(self.dropout(y)).log_softmax(dim=-1)

    def init_state(self, batch: int = 1) -> tuple:
        """Streaming state before any features: (front-end frames (B, 0, F), encoder state)."""
        if not self.causal:
            name = type(self.encoder).__name__
            raise ValueError(f"{name} reads the future and cannot stream; use a causal encoder")
        return self.frontend.init_state(batch), self.encoder.init_state(batch)

    def step(self, feats: torch.Tensor, state: tuple):
        """feats: (B, T, F) new normalized frames -> log-probs (B, T', V) for the encoder frames
        they complete, new state. Chunked output equals `forward`; `state` is left untouched."""
        pending, enc_state = state
        x, pending = self.frontend.step(feats, pending)  # (B, T', D)
        if x.shape[1] == 0:
            return x.new_zeros(x.shape[0], 0, self.head.out_features), (pending, enc_state)
        y, enc_state = self.encoder.step(x, enc_state)
        return self._log_probs(y), (pending, enc_state)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
