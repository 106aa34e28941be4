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

    def forward(self, x: torch.Tensor, lens: torch.Tensor):
        if x.shape[1] < MIN_FRAMES:
            x = nn.functional.pad(x, (0, 0, 0, MIN_FRAMES - x.shape[1]))
        y = self.conv(x.unsqueeze(1))  # (B, C, T', F')
        b, c, t, f = y.shape
        y = self.proj(y.transpose(1, 2).reshape(b, t, c * f))  # (B, T', D)
        return y, subsampled_lengths(lens)


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
        logits = self.head(self.dropout(y))
        return logits.log_softmax(dim=-1), y_lens

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
