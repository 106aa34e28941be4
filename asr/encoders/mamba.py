"""Mamba: stacked selective state-space blocks; causal, so it streams one frame at a time.

Built on mambapy (pure PyTorch, runs on the CPU) rather than a hand-written scan: its
parallel scan serves `forward`. `step` runs the same blocks' weights over a whole chunk at
once (`_mixer_chunk`: mambapy's own `step` takes one frame at a time, 2-3x slower when
streaming); tests/test_streaming.py holds the two to the same output under any chunking.
The scan is parallel over time, so truncated BPTT does not apply and `tbptt_frames` is
ignored.
"""

from __future__ import annotations

import functools
import warnings

import torch
import torch.nn.functional as F
from mambapy.mamba import Mamba, MambaBlock, MambaConfig
from torch import nn

D_STATE = 16  # SSM state size per channel (the Mamba paper's N)
EXPAND = 2  # inner width = EXPAND * hidden
D_CONV = 4  # causal depthwise convolution width, in frames


def _scan(decay: torch.Tensor, drive: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """h_t = decay_t * h_(t-1) + drive_t from h over (B, T, ED, N) -> every h_t, (B, T, ED, N)."""
    states = []
    for t in range(decay.shape[1]):
        h = decay[:, t] * h + drive[:, t]
        states.append(h)
    return torch.stack(states, dim=1)


def _doubling_scan(decay: torch.Tensor, drive: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """`_scan` in ceil(log2 T) whole-tensor steps (Hillis and Steele): after the step of
    stride k, each frame holds its recurrence over the 2k frames that end there. For the ONNX
    export of whole recordings: there a loop over T frames of small ops ran at 1.8x torch's
    RTF, and O(T log T) arithmetic in a handful of large ops is faster."""
    drive = torch.cat([drive[:, :1] + decay[:, :1] * h.unsqueeze(1), drive[:, 1:]], dim=1)
    stride = 1
    while stride < decay.shape[1]:
        drive = torch.cat(
            [drive[:, :stride], drive[:, stride:] + decay[:, stride:] * drive[:, :-stride]], dim=1
        )
        decay = torch.cat([decay[:, :stride], decay[:, stride:] * decay[:, :-stride]], dim=1)
        stride *= 2
    return drive


@functools.cache
def _scripted(scan):
    """A scan compiled by TorchScript, for ONNX export only: a traced Python loop is unrolled
    at the example's length, a scripted one becomes an ONNX Loop that runs as many times as
    the frames that come need. The whole-recording graph takes `_doubling_scan` (3x faster on
    10 s than `_scan`'s frame loop there), the streaming step `_scan` (a 4-frame chunk: 3.0
    against 3.7 ms). Compiled on first export, not at import (TorchScript warns that it is
    deprecated); streaming in torch runs the plain loop."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated, still works
        return torch.jit.script(scan)


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

    def traceable(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, H) as `forward` computes it, in ops that ONNX export traces
        for any T (mambapy's parallel scan loops over log2(T): its trace fits one T only)."""
        return self.step(x, self.init_state(x.shape[0]), scan=_scripted(_doubling_scan))[0]

    @staticmethod
    def pack_state(state: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """The two parts as one tensor (layers, B, inner, N + D_CONV - 1): an exported step
        (asr.export) passes its runtime one state, as a GRU's."""
        return torch.cat(state, dim=-1)

    def traceable_step(self, chunk: torch.Tensor, packed: torch.Tensor):
        """`step` on a packed state, with the scan scripted: what ONNX export traces for a
        streaming step that takes any number of frames."""
        h, inputs = packed.split([D_STATE, D_CONV - 1], dim=-1)
        y, state = self.step(chunk, (h, inputs), scan=_scripted(_scan))
        return y, self.pack_state(state)

    def step(self, chunk: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], scan=_scan):
        """chunk: (B, T, C) -> (B, T, H), new state (`state` is not modified)."""
        x = self.proj(chunk)
        if x.shape[1] == 0:
            return x.new_zeros(x.shape[0], 0, self.output_dim), state
        ssm_states, conv_inputs = [], []
        for layer, h, inputs in zip(self.mamba.layers, *state, strict=True):
            y, h, inputs = _mixer_chunk(layer.mixer, layer.norm(x), h, inputs, scan)
            x = y + x
            ssm_states.append(h)
            conv_inputs.append(inputs)
        return self.norm(x), (torch.stack(ssm_states), torch.stack(conv_inputs))


def _mixer_chunk(
    block: MambaBlock, x: torch.Tensor, h: torch.Tensor, inputs: torch.Tensor, scan=_scan
):
    """mambapy's MambaBlock.step over a chunk of T frames at once: x (B, T, D), SSM state h
    (B, ED, N), the last D_CONV - 1 conv inputs (B, ED, D_CONV - 1) -> (B, T, D), h, inputs.

    Why not call step T times: a 160 ms chunk is 4 frames through 3 blocks, and each step is a
    dozen small matrix products; here every projection runs once on all T frames, and only the
    state update h = exp(delta A) h + delta B x stays frame by frame."""
    u, z = block.in_proj(x).chunk(2, dim=-1)  # (B, T, ED) each
    window = torch.cat([inputs, u.transpose(1, 2)], dim=2)  # (B, ED, D_CONV - 1 + T)
    conv = F.conv1d(window, block.conv1d.weight, block.conv1d.bias, groups=block.config.d_inner)
    u = F.silu(conv.transpose(1, 2))  # (B, T, ED): the causal conv, as step computes it
    cfg = block.config
    delta, b, c = block.x_proj(u).split([cfg.dt_rank, cfg.d_state, cfg.d_state], dim=-1)
    delta, b, c = block._apply_layernorms(delta, b, c)
    delta = F.softplus(block.dt_proj(delta))  # (B, T, ED)
    decay = torch.exp(delta.unsqueeze(-1) * -torch.exp(block.A_log.float()))  # (B, T, ED, N)
    drive = delta.unsqueeze(-1) * b.unsqueeze(2) * u.unsqueeze(-1)  # (B, T, ED, N)
    states = scan(decay, drive, h)  # (B, T, ED, N)
    y = (states @ c.unsqueeze(-1)).squeeze(-1) + block.D.float() * u
    out = block.out_proj(y * F.silu(z))
    return out, states[:, -1], window[:, :, window.shape[2] - (D_CONV - 1) :]
