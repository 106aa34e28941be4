"""Mamba: stacked selective state-space blocks; causal, so it streams one frame at a time.

Built on mambapy (pure PyTorch, runs on the CPU, parallel scan for training and a recurrent
`step` for inference) rather than a hand-written scan: the same blocks serve `forward` and
`step`, so streaming matches offline by construction. The scan is parallel over time, so
truncated BPTT does not apply and `tbptt_frames` is ignored.
"""

from __future__ import annotations

import torch
from mambapy.mamba import Mamba, MambaConfig
from torch import nn

D_STATE = 16  # SSM state size per channel (the Mamba paper's N)
EXPAND = 2  # inner width = EXPAND * hidden
D_CONV = 4  # causal depthwise convolution width, in frames


class MambaEncoder(nn.Module):
    causal = True

    def __init__(self, input_dim: int, cfg):
        super().__init__()
        self.proj = nn.Identity() if input_dim == cfg.hidden else nn.Linear(input_dim, cfg.hidden)
        config = MambaConfig(
            d_model=cfg.hidden, n_layers=cfg.layers, d_state=D_STATE, expand_factor=EXPAND,
            d_conv=D_CONV,
        )  # fmt: skip
        self.mamba = Mamba(config)
        self.norm = nn.LayerNorm(cfg.hidden)  # the blocks are pre-norm: normalize the output
        self.output_dim = cfg.hidden
        self.inner = config.d_inner

    def forward(self, x: torch.Tensor, x_lens: torch.Tensor, tbptt_frames: int = 0):
        """x: (B, T, C) -> (B, T, H). Padding trails each sequence, so it cannot leak back."""
        return self.norm(self.mamba(self.proj(x))), x_lens

    def init_state(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(SSM states (layers, B, inner, N), conv inputs (layers, B, inner, D_CONV - 1)) zeros."""
        p = next(self.parameters())
        layers = len(self.mamba.layers)
        return (
            p.new_zeros(layers, batch, self.inner, D_STATE),
            p.new_zeros(layers, batch, self.inner, D_CONV - 1),
        )

    def step(self, chunk: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        """chunk: (B, T, C) -> (B, T, H), new state; frame by frame (`state` is not modified)."""
        ssm, conv = state
        caches = list(zip(ssm.unbind(0), conv.unbind(0), strict=True))
        x, outputs = self.proj(chunk), []
        for t in range(x.shape[1]):
            y, caches = self.mamba.step(x[:, t], caches)
            outputs.append(y)
        if not outputs:
            return x.new_zeros(x.shape[0], 0, self.output_dim), state
        new_state = (torch.stack([h for h, _ in caches]), torch.stack([c for _, c in caches]))
        return self.norm(torch.stack(outputs, dim=1)), new_state
