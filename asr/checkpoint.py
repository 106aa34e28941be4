"""Model files: safetensors weights plus a JSON header with everything needed to transcribe.

The header carries the config, the tokenizer and the feature statistics, so a model file
alone is enough. Nothing here unpickles code: weights are safetensors and the resumable
training state is read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as dump_safetensors

from asr.bundled import model_path
from asr.config import Config, config_from_dict
from asr.errors import AsrError
from asr.features import FeatureStats
from asr.model import CTCModel
from asr.text import Tokenizer, tokenizer_from_dict

FORMAT = "asr-ctc/1"
SNAPSHOT_FOLDER = "snapshots"  # in a training run's --out folder: step-N.safetensors


@dataclass
class LoadedModel:
    model: CTCModel
    config: Config
    tokenizer: Tokenizer
    stats: FeatureStats
    info: dict = field(default_factory=dict)


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write via temp file, fsync and rename, so a crash leaves the old file or the new one.

    The rename replaces whatever node `path` names: a device or pipe there (`--out
    /dev/stdout`; as root, even /dev/full) would be swapped for a plain file, so it is refused."""
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        raise AsrError(str(path), "not a regular file (writing would replace it); give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model file is for everyone
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_model(
    path, model: CTCModel, config: Config, tokenizer, stats: FeatureStats, info=None, half=False
):
    """Weights, feature statistics, config and tokenizer in one safetensors file. `half`
    stores the weights as float16: half the bytes; loading widens them to float32 again."""
    weight_type = torch.float16 if half else None
    tensors = {
        f"model.{k}": _stored(v.detach().cpu(), weight_type) for k, v in model.state_dict().items()
    }
    tensors["stats.mean"] = stats.mean.contiguous()
    tensors["stats.std"] = stats.std.contiguous()
    header = {
        "format": FORMAT,
        "config": config.to_dict(),
        "tokenizer": tokenizer.to_dict(),
        "info": info or {},
    }
    atomic_write(path, dump_safetensors(tensors, metadata={"asr": json.dumps(header)}))


def copy_with_info(src: str | Path, dst: str | Path, **info) -> None:
    """Copy a model file with keys added to (or replaced in) its header's `info`; the
    weights are copied byte for byte, in their stored precision."""
    src = model_path(src)
    if not src.is_file():
        raise AsrError(str(src), "no such model file")
    tensors, header = _read(src)
    header["info"] = {**header.get("info", {}), **info}
    atomic_write(dst, dump_safetensors(tensors, metadata={"asr": json.dumps(header)}))


def _stored(tensor: torch.Tensor, weight_type) -> torch.Tensor:
    if weight_type is not None and tensor.is_floating_point():
        tensor = tensor.to(weight_type)
    return tensor.contiguous()


def load_model(path: str | Path | None = None) -> LoadedModel:
    """Load a model file (default: the bundled model) for inference, in eval mode."""
    path = model_path(path)
    if not path.exists():
        raise AsrError(str(path), "no such model file")
    if path.is_dir():
        raise AsrError(str(path), "is a directory; expected a .safetensors model file")
    tensors, header = _read(path)
    try:
        config = config_from_dict(header["config"], str(path))
        tokenizer = tokenizer_from_dict(header["tokenizer"])
    except (KeyError, ValueError) as err:
        raise AsrError(str(path), f"bad checkpoint header ({err})") from None
    model = CTCModel(config.model, config.features.n_mels, len(tokenizer))
    weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    load_weights(model, weights, str(path))
    model.eval()
    stats = FeatureStats(tensors["stats.mean"], tensors["stats.std"])
    return LoadedModel(model, config, tokenizer, stats, header.get("info", {}))


def load_weights(model: torch.nn.Module, weights: dict, where: str) -> None:
    """Load a state dict, turning any key or shape mismatch into one readable line."""
    own = model.state_dict()
    missing = sorted(set(own) - set(weights))
    extra = sorted(set(weights) - set(own))
    if missing or extra:
        what = f"missing {missing[0]}" if missing else f"unexpected {extra[0]}"
        raise AsrError(where, f"checkpoint does not match the model ({what})")
    for key, value in weights.items():
        if own[key].shape != value.shape:
            shapes = f"{tuple(value.shape)} vs {tuple(own[key].shape)}"
            raise AsrError(where, f"checkpoint does not match the model ({key}: {shapes})")
    model.load_state_dict(weights)


def _read(path: Path) -> tuple[dict, dict]:
    try:
        data = path.read_bytes()
        tensors = load_safetensors(data)
        header = _metadata(data)
    except (SafetensorError, ValueError, json.JSONDecodeError, OSError):
        raise AsrError(str(path), "not an asr model file (unreadable safetensors)") from None
    if header.get("format") != FORMAT:
        raise AsrError(str(path), f"not an asr model file (format {header.get('format')!r})")
    if "stats.mean" not in tensors:
        raise AsrError(str(path), "checkpoint has no feature statistics")
    return tensors, header


def _metadata(data: bytes) -> dict:
    """The JSON header: safetensors stores metadata in its own length-prefixed JSON block."""
    size = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8 : 8 + size]).get("__metadata__", {})
    return json.loads(meta.get("asr", "{}"))


def snapshot_files(run_dir: str | Path) -> list[Path]:
    """A training run's validation snapshots (`train.keep_snapshots`), oldest step first.
    Other files there (a hand-made step-final.safetensors) are not snapshots: left alone."""
    steps = {}
    for path in Path(run_dir, SNAPSHOT_FOLDER).glob("step-*.safetensors"):
        match = re.fullmatch(r"step-(\d+)\.safetensors", path.name)
        if match:
            steps[path] = int(match[1])
    return sorted(steps, key=steps.get)


def save_train_state(path: str | Path, state: dict) -> None:
    """Optimizer, scheduler and progress counters for --resume (tensors and plain values only)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(path, buffer.getvalue())


def load_train_state(path: str | Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a bad file
        raise AsrError(str(path), f"cannot read training state ({type(err).__name__})") from None
