"""Unidirectional GRU: causal, so it streams by carrying its hidden state between chunks."""

from __future__ import annotations

import torch
from torch import nn


class GRUEncoder(nn.Module):
    causal = True

    def __init__(self, input_dim: int, cfg):
        super().__init__()
        self.gru = nn.GRU(
            input_dim,
            cfg.hidden,
            num_layers=cfg.layers,
            batch_first=True,
            dropout=cfg.dropout if cfg.layers > 1 else 0.0,
        )
        self.output_dim = cfg.hidden

    def init_state(self, batch: int) -> torch.Tensor:
        """(layers, B, H) zeros: the state before any audio."""
        p = next(self.parameters())
        return p.new_zeros(self.gru.num_layers, batch, self.gru.hidden_size)

    def step(self, chunk: torch.Tensor, state: torch.Tensor):
        """chunk: (B, T, C), state: (layers, B, H) -> (B, T, H), new state (input untouched)."""
        y, new_state = self.gru(chunk, state)
        return y, new_state

    def forward(self, x: torch.Tensor, x_lens: torch.Tensor, tbptt_frames: int = 0):
        """x: (B, T, C) -> (B, T, H). Padding sits after each sequence, so it cannot leak back."""
        if not tbptt_frames:
            y, _ = self.gru(x)
            return y, x_lens
        # Truncated BPTT: the state crosses segment edges but its gradient does not.
        state, outputs = self.init_state(x.shape[0]), []
        for start in range(0, x.shape[1], tbptt_frames):
            y, state = self.step(x[:, start : start + tbptt_frames], state)
            outputs.append(y)
            state = state.detach()
        return torch.cat(outputs, dim=1), x_lens
