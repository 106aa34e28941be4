"""Bidirectional LSTM: sees the whole utterance, so the most accurate and never streamable.

Each layer runs two unidirectional LSTMs; the backward one reads every sequence reversed
within its own length, so padding always trails and never leaks into real frames. That is
exact like packed sequences and about 1.5x faster on the CPU (measured: bench/offline.py).
"""

from __future__ import annotations

import torch
from torch import nn


def reverse_within_lengths(x: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
    """(B, T, C): reverse frames [0, len) of each sequence, leave the padding where it is."""
    t = torch.arange(x.shape[1], device=x.device).unsqueeze(0)  # (1, T)
    lens = lens.to(x.device).unsqueeze(1)  # (B, 1)
    index = torch.where(t < lens, lens - 1 - t, t)  # (B, T)
    return x.gather(1, index.unsqueeze(-1).expand_as(x))


class BLSTMEncoder(nn.Module):
    causal = False

    def __init__(self, input_dim: int, cfg):
        super().__init__()
        dims = [input_dim] + [2 * cfg.hidden] * (cfg.layers - 1)
        self.forward_layers = nn.ModuleList(nn.LSTM(d, cfg.hidden, batch_first=True) for d in dims)
        self.backward_layers = nn.ModuleList(nn.LSTM(d, cfg.hidden, batch_first=True) for d in dims)
        self.dropout = nn.Dropout(cfg.dropout)
        self.output_dim = 2 * cfg.hidden

    def forward(self, x: torch.Tensor, x_lens: torch.Tensor, tbptt_frames: int = 0):
        """x: (B, T, C) -> (B, T, 2H), lengths unchanged."""
        if tbptt_frames:
            raise ValueError("truncated BPTT needs a causal encoder; blstm reads the future")
        for i, (fwd, bwd) in enumerate(zip(self.forward_layers, self.backward_layers)):
            if i:
                x = self.dropout(x)
            ahead, _ = fwd(x)
            behind, _ = bwd(reverse_within_lengths(x, x_lens))
            x = torch.cat([ahead, reverse_within_lengths(behind, x_lens)], dim=-1)
        return x, x_lens
