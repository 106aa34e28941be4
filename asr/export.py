"""ONNX export: the feature front end, the model, and (for causal models) its streaming step.

Writes a folder that `asr.onnx_runtime` runs with onnxruntime and numpy only (no torch):
  features.onnx  waveform (N,) -> log-mel (T, n_mels): the STFT as a strided convolution with
                 DFT kernels (ONNX's STFT op does not export from torch), same numbers as LogMel
  model.onnx     normalized log-mel (1, T, n_mels), T >= 7 -> CTC log-probs (1, T', V)
  frontend.onnx, step.onnx   (causal models: GRU, Mamba) the conv front end on buffered
                 frames, and one encoder + head step with the state as an explicit input and
                 output (a Mamba's SSM and conv states joined into one tensor)
  model.json     config, tokenizer symbols, feature statistics: all the runtime needs
  lm.arpa.gz     (with an LM: the bundled model's by default) the word LM its searches use
`--int8` adds model.int8.onnx (and step.int8.onnx): int8 weights (asr.quantize); `--model
DIR/model.int8.onnx` runs them.
"""

from __future__ import annotations

import json
import math
import shutil
import warnings
from pathlib import Path

import torch
from torch import nn

from asr.beam import LM_TUNING_KEY
from asr.checkpoint import atomic_write, load_model
from asr.confidence import CALIBRATION_KEY
from asr.features import LOG_FLOOR, LogMel
from asr.model import MIN_FRAMES, SUBSAMPLING
from asr.onnx_runtime import FORMAT, INT8_SUFFIX, LM_NAME
from asr.outputs import output_folder
from asr.quantize import int8_copy

# Every graph an export may write: a new export into an old folder removes them all first, so
# an int8 copy or streaming step of the model exported there before never runs with this one.
GRAPHS = ("features", "model", "frontend", "step")


class ConvLogMel(nn.Module):
    """LogMel through ops ONNX has: framing + DFT as one strided Conv1d, then the mel matrix."""

    def __init__(self, logmel: LogMel):
        super().__init__()
        s = logmel.settings
        n_fft = s.win_length
        window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
        k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
        n = torch.arange(n_fft, dtype=torch.float64)[None, :]
        angle = 2 * math.pi * k * n / n_fft
        kernel = torch.cat([torch.cos(angle) * window, -torch.sin(angle) * window])
        self.register_buffer("kernel", kernel.float().unsqueeze(1))  # (2K, 1, n_fft)
        self.register_buffer("fbank", logmel.mel.mel_scale.fb.clone())  # (K, n_mels)
        self.hop = s.hop_length

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(N,) with N >= n_fft -> (T, n_mels)."""
        frames = nn.functional.conv1d(wave.view(1, 1, -1), self.kernel, stride=self.hop)
        real, imag = frames[0].chunk(2, dim=0)  # (K, T) each
        power = (real * real + imag * imag).transpose(0, 1)  # (T, K)
        return torch.log(power @ self.fbank + LOG_FLOOR)


class Offline(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        lens = torch.full((1,), feats.shape[1], dtype=torch.long)
        encoder = self.model.encoder
        if hasattr(encoder, "traceable"):  # Mamba: its forward would trace for one length only
            x, _ = self.model.frontend(feats, lens)
            return self.model._log_probs(encoder.traceable(x))
        return self.model(feats, lens)[0]


class Frontend(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.frontend = model.frontend

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.frontend._project(feats)


class Step(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, state: torch.Tensor):
        encoder = self.model.encoder
        if hasattr(encoder, "traceable_step"):  # Mamba: a packed state, a scripted scan
            y, state = encoder.traceable_step(x, state)
        else:
            y, state = encoder.step(x, state)
        return self.model._log_probs(y), state


def _step_state(encoder) -> torch.Tensor:
    """The zero state of the exported step: one tensor, a Mamba's two parts packed."""
    state = encoder.init_state(1)
    return encoder.pack_state(state) if hasattr(encoder, "pack_state") else state


def _export(module, args, path, inputs, outputs, dynamic) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, args, str(path), input_names=inputs, output_names=outputs,
            dynamic_axes=dynamic, opset_version=17, dynamo=False,
        )  # fmt: skip


def _copy_lm(lm: Path, out: Path) -> list[Path]:
    """The LM as out/lm.<its suffixes> (lm.arpa.gz, lm.bin), a binary's word list beside it;
    the LM last."""
    target = out / (LM_NAME + "".join(lm.suffixes))
    copied = []
    words = Path(str(lm) + ".vocab")
    if words.exists():
        copied.append(Path(str(target) + ".vocab"))
        _copy_unless_same(words, copied[-1])
    _copy_unless_same(lm, target)
    return copied + [target]


def _copy_unless_same(source: Path, target: Path) -> None:
    """Re-exporting into a folder with its own LM (`--lm DIR/lm.arpa.gz`) keeps that file."""
    if not (target.exists() and target.samefile(source)):
        shutil.copyfile(source, target)


def _clear_old_export(out: Path) -> None:
    """Remove a previous export's model.json (first: a folder left half-written by a failed
    export then refuses to load, rather than pairing new graphs with old settings) and its
    graphs."""
    (out / "model.json").unlink(missing_ok=True)
    for graph in GRAPHS:
        for suffix in (".onnx", INT8_SUFFIX):
            (out / (graph + suffix)).unlink(missing_ok=True)


def export(
    model_path: str | Path | None,
    out_dir: str | Path,
    int8: bool = False,
    lm: str | Path | None = None,
) -> list[Path]:
    """Export a model file (default: the bundled one) to an ONNX folder -> files written.
    `lm` is copied in (a binary LM with its word list), and the folder decodes with it."""
    if lm is not None:
        from asr.beam import lm_vocabulary

        lm_vocabulary(Path(lm))  # a missing LM, or a binary without its words: before any work
    loaded = load_model(model_path)
    model = loaded.model.eval()
    out = output_folder(out_dir)
    _clear_old_export(out)
    settings = loaded.config.features
    written = [out / "features.onnx", out / "model.onnx"]
    wave = torch.randn(settings.sample_rate) * 0.1
    _export(ConvLogMel(LogMel(settings)).eval(), (wave,), written[0], ["wave"], ["logmel"],
            {"wave": {0: "samples"}, "logmel": {0: "frames"}})  # fmt: skip
    feats = torch.randn(1, 50, settings.n_mels)
    _export(Offline(model), (feats,), written[1], ["feats"], ["log_probs"],
            {"feats": {1: "frames"}, "log_probs": {1: "out_frames"}})  # fmt: skip
    causal = model.causal
    if causal:
        written += [out / "frontend.onnx", out / "step.onnx"]
        _export(Frontend(model), (feats,), written[2], ["feats"], ["frames"],
                {"feats": {1: "frames"}, "frames": {1: "out_frames"}})  # fmt: skip
        with torch.no_grad():
            x, state = model.frontend._project(feats), _step_state(model.encoder)
        _export(Step(model), (x, state), written[3], ["x", "state"], ["log_probs", "new_state"],
                {"x": {1: "frames"}, "log_probs": {1: "frames"}})  # fmt: skip
    if int8:
        written += [int8_copy(path) for path in written if path.stem in ("model", "step")]
    lm_file = None
    if lm is not None:
        written += _copy_lm(Path(lm), out)
        lm_file = written[-1].name
    meta = {
        "format": FORMAT,
        "config": loaded.config.to_dict(),
        "tokenizer": loaded.tokenizer.to_dict(),
        "info": {k: v for k, v in loaded.info.items() if k in (CALIBRATION_KEY, LM_TUNING_KEY)},
        "stats": {"mean": loaded.stats.mean.tolist(), "std": loaded.stats.std.tolist()},
        "min_frames": MIN_FRAMES,
        "subsampling": SUBSAMPLING,
        "streaming": causal,
        "state_shape": list(_step_state(model.encoder).shape) if causal else None,
        "lm": lm_file,
    }
    written.append(out / "model.json")
    atomic_write(written[-1], json.dumps(meta, indent=1).encode())
    return written
