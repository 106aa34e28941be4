"""Bidirectional LSTM: sees the whole utterance, so the most accurate and never streamable."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class BLSTMEncoder(nn.Module):
    causal = False

    def __init__(self, input_dim: int, cfg):
        super().__init__()
        self.lstm = nn.LSTM(
            input_dim,
            cfg.hidden,
            num_layers=cfg.layers,
            batch_first=True,
            bidirectional=True,
            dropout=cfg.dropout if cfg.layers > 1 else 0.0,
        )
        self.output_dim = 2 * cfg.hidden

    def forward(self, x: torch.Tensor, x_lens: torch.Tensor, tbptt_frames: int = 0):
        """x: (B, T, C) -> (B, T, 2H); packing keeps padding out of the backward direction."""
        if tbptt_frames:
            raise ValueError("truncated BPTT needs a causal encoder; blstm reads the future")
        packed = pack_padded_sequence(
            x, x_lens.clamp_min(1).cpu(), batch_first=True, enforce_sorted=False
        )
        y, _ = self.lstm(packed)
        y, _ = pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
        return y, x_lens
