"""Typed configuration: features, model, augmentation and training.

YAML files in `configs/` map onto these dataclasses; an unknown key or a value of the wrong
type is an error, so a typo never silently trains the wrong model. `--set a.b=value`
overrides any field from the command line.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from asr.errors import AsrError
from asr.features import FeatureSettings
from asr.manifest import read_text_file


@dataclass
class ModelConfig:
    encoder: str = "blstm"  # registry name: blstm (offline), gru or mamba (causal)
    frontend_channels: int = 32  # conv channels in the 4x subsampling front end
    hidden: int = 256  # recurrent units per direction
    layers: int = 3  # stacked recurrent layers
    dropout: float = 0.1  # between recurrent layers and before the CTC head
    units: str = "char"  # what the CTC head emits: char (letters) or bpe (word pieces, asr/bpe.py)
    bpe_size: int = 256  # with units: bpe, how many pieces to learn from the training text


@dataclass
class AugmentConfig:
    speeds: list[float] = field(default_factory=lambda: [0.9, 1.0, 1.1])  # speed perturbation
    gain_db: list[float] = field(default_factory=lambda: [-30.0, 6.0])  # random level range
    noise_prob: float = 0.3  # add white/pink noise ...
    snr_db: list[float] = field(default_factory=lambda: [5.0, 35.0])  # ... at an SNR in this range
    reverb_prob: float = 0.2  # convolve with a synthetic room response
    bandlimit_prob: float = 0.2  # 8 kHz round trip (telephone band)
    # vocal-tract-length warp of the log-mels, drawn from this range (1 = none); `--vtln`'s
    # search at decoding time gains most on voices this range does not reach
    warp: list[float] = field(default_factory=lambda: [0.88, 1.12])
    freq_masks: int = 2  # SpecAugment frequency masks ...
    freq_width: int = 15  # ... each up to this many mel bands
    time_masks: int = 2  # SpecAugment time masks ...
    time_width: float = 0.05  # ... each up to this fraction of the utterance


@dataclass
class TrainConfig:
    epochs: int = 20
    max_steps: int = 0  # stop after this many optimizer steps (0: no limit)
    batch_seconds: float = 120.0  # audio seconds per batch (length-bucketed)
    lr: float = 1e-3  # peak AdamW learning rate
    weight_decay: float = 1e-2
    warmup_steps: int = 500  # linear warm-up, then inverse square-root decay
    grad_clip: float = 5.0  # max global gradient norm
    tbptt_frames: int = 0  # truncated BPTT segment in encoder frames (0: off; causal encoders only)
    delay_penalty: float = 0.0  # CTC bonus for emitting early, nats per frame (streaming models)
    seed: int = 0
    num_threads: int = 1  # torch intra-op threads (the machines here have 2 cores)
    device: str = "cpu"  # where the model trains: cpu, cuda, cuda:N, or auto (cuda if present)
    workers: int = 0  # processes that build batches ahead of the model (0: in the training loop)
    valid_max_utts: int = 0  # cap on validation utterances per epoch (0: all)
    valid_every: int = 0  # also validate (and keep the best) every this many steps (0: per epoch)
    checkpoint_every: int = 200  # steps between resumable checkpoints
    keep_snapshots: int = 0  # keep the newest N validation snapshots for `asr average` (0: none)
    calibrate: bool = True  # at the end, fit best.safetensors' greedy word confidence on the
    # first validation set (asr calibrate), so its `conf` reads as a chance of being right


@dataclass
class Config:
    features: FeatureSettings = field(default_factory=FeatureSettings)
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def same_model(self, other: Config) -> bool:
        """Same network and features: weights and feature statistics carry over between the
        two (training and augmentation settings may differ)."""
        return self.model == other.model and self.features == other.features


def config_from_dict(data: dict, where: str = "config") -> Config:
    """Build a Config, rejecting unknown keys, wrong types and values out of range with the
    dotted key in the message."""
    config = _build(Config, data or {}, where, prefix="")
    _check_ranges(config, where)
    return config


# The front end's two valid 3x3, stride-2 convolutions need as many bands as frames, so this
# is asr.model.MIN_FRAMES (a test holds them equal); fewer build a layer of zero inputs that
# fails on first use. Not imported from there: asr.model imports this module.
MIN_MELS = 7

# Values outside these ranges fail deep inside torch with a traceback, or quietly train
# wrong (a negative clip flips every gradient, zero epochs train nothing): each is refused
# with its key instead.
_AT_LEAST_1 = (lambda v: v >= 1, "at least 1")
_POSITIVE = (lambda v: v > 0, "more than 0")
_NOT_NEGATIVE = (lambda v: v >= 0, "0 or more")
_SHARE = (lambda v: 0 <= v <= 1, "from 0 to 1")
_RANGE = (lambda v: len(v) == 2 and v[0] <= v[1], "a [low, high] pair")
_RULES = {
    "features.sample_rate": _AT_LEAST_1,
    "features.n_mels": (
        lambda v: v >= MIN_MELS,
        f"at least {MIN_MELS}, the conv front end's minimum",
    ),
    "features.win_ms": _POSITIVE,
    "features.hop_ms": _POSITIVE,
    "model.frontend_channels": _AT_LEAST_1,
    "model.hidden": _AT_LEAST_1,
    "model.layers": _AT_LEAST_1,
    "model.dropout": (lambda v: 0 <= v < 1, "from 0 to under 1"),
    "model.units": (lambda v: v in ("char", "bpe"), "char or bpe"),
    "model.bpe_size": (lambda v: v >= 8, "at least 8"),
    "augment.speeds": (lambda v: len(v) > 0 and min(v) > 0, "a list of speeds over 0"),
    "augment.gain_db": _RANGE,
    "augment.noise_prob": _SHARE,
    "augment.snr_db": _RANGE,
    "augment.reverb_prob": _SHARE,
    "augment.bandlimit_prob": _SHARE,
    "augment.warp": (lambda v: _RANGE[0](v) and v[0] > 0, "a [low, high] pair over 0"),
    "augment.freq_masks": _NOT_NEGATIVE,
    "augment.freq_width": _NOT_NEGATIVE,
    "augment.time_masks": _NOT_NEGATIVE,
    "augment.time_width": _SHARE,
    "train.epochs": _AT_LEAST_1,
    "train.max_steps": _NOT_NEGATIVE,
    "train.batch_seconds": _POSITIVE,
    "train.lr": _POSITIVE,
    "train.weight_decay": _NOT_NEGATIVE,
    "train.warmup_steps": _NOT_NEGATIVE,
    "train.grad_clip": _POSITIVE,
    "train.tbptt_frames": _NOT_NEGATIVE,
    "train.delay_penalty": _NOT_NEGATIVE,
    "train.num_threads": _AT_LEAST_1,
    "train.workers": _NOT_NEGATIVE,
    "train.valid_max_utts": _NOT_NEGATIVE,
    "train.valid_every": _NOT_NEGATIVE,
    "train.checkpoint_every": _AT_LEAST_1,
    "train.keep_snapshots": _NOT_NEGATIVE,
}


def _check_ranges(config: Config, where: str) -> None:
    for key, (fits, wanted) in _RULES.items():
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if not fits(value):
            raise AsrError(where, f"'{key}' must be {wanted}, not {value!r}")
    _check_encoder(config, where)
    try:
        win, hop = config.features.win_length, config.features.hop_length
    except OverflowError:  # e.g. win_ms=1e308: finite, but not as a count of samples
        raise AsrError(where, "'features.win_ms' or 'features.hop_ms' is too large") from None
    if not 1 <= hop <= win:
        raise AsrError(where, f"'features.win_ms' and 'features.hop_ms' give a window of {win} "
                       f"samples and a hop of {hop}: the hop must be from 1 sample to the window")  # fmt: skip


def _check_encoder(config: Config, where: str) -> None:
    """The encoder is a registry name, and truncated BPTT needs one that reads no future: both
    are checked here, before training reads manifests or learns word pieces."""
    from asr.encoders import ENCODERS  # torch: only where a config is checked

    name = config.model.encoder
    if name not in ENCODERS:
        known = ", ".join(sorted(ENCODERS))
        raise AsrError(where, f"'model.encoder' must be one of {known}, not {name!r}")
    if config.train.tbptt_frames and not ENCODERS[name].causal:
        causal = ", ".join(sorted(k for k, v in ENCODERS.items() if v.causal))
        raise AsrError(where, f"'train.tbptt_frames' needs a causal encoder ({causal}); "
                       f"{name} reads the future (set it to 0)")  # fmt: skip


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read a YAML config and apply `key.sub=value` overrides."""
    path = Path(path)
    if not path.exists():
        raise AsrError(str(path), "no such config file")
    try:
        data = yaml.safe_load(read_text_file(path)) or {}
    except yaml.YAMLError as err:
        raise AsrError(str(path), f"invalid YAML ({_yaml_reason(err)})") from None
    if not isinstance(data, dict):
        raise AsrError(str(path), "config must be a mapping of sections")
    config = config_from_dict(data, str(path))
    if not overrides:
        return config
    for item in overrides:
        apply_override(data, item)
    return config_from_dict(data, "--set")  # the file was fine: the error is an override's


def apply_override(data: dict, item: str) -> None:
    """Apply 'train.lr=3e-4' to a nested dict; the value is parsed as YAML."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise AsrError("--set", f"expected KEY=VALUE, got {item!r}")
    *parents, leaf = key.strip().split(".")
    node = data
    for name in parents:
        node = node.setdefault(name, {})
        if not isinstance(node, dict):
            raise AsrError("--set", f"{key} does not name a config field")
    try:
        node[leaf] = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise AsrError("--set", f"{key}: invalid value ({_yaml_reason(err)})") from None


def _yaml_reason(err: yaml.YAMLError) -> str:
    """A YAMLError's first line, for a one-line message: the rest quotes the text around the
    error over several lines."""
    return str(err).splitlines()[0]


def _build(cls, data, where: str, prefix: str):
    if not isinstance(data, dict):
        raise AsrError(where, f"section '{prefix.rstrip('.') or 'top'}' must be a mapping")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names, key=str)  # YAML keys may be ints too
    if unknown:
        raise AsrError(where, f"unknown config key '{prefix}{unknown[0]}'")
    values = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, value, where, prefix=f"{prefix}{name}.")
        else:
            values[name] = _check(hint, value, where, f"{prefix}{name}")
    return cls(**values)


def _check(hint, value, where: str, key: str):
    origin = typing.get_origin(hint)
    if origin is list:
        (item_type,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise AsrError(where, f"'{key}' must be a list")
        return [_check(item_type, v, where, key) for v in value]
    if origin in (typing.Union, types.UnionType):
        raise TypeError("union config fields are not supported")
    if hint is float:
        value = _float(value)
        if isinstance(value, float) and not math.isfinite(value):  # .inf overflows, .nan poisons
            raise AsrError(where, f"'{key}' must be a finite number, got {value!r}")
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise AsrError(where, f"'{key}' must be {hint.__name__}, got {value!r}")
    return value


def _float(value):
    """An int, or a string like 5e-4 (YAML 1.1 reads it, without a dot, as a string; people
    write it anyway), as a float; anything else as it is."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        try:
            return float(value)
        except OverflowError:  # an int past any float
            return math.inf
        except ValueError:
            pass
    return value
