"""Checkpoint averaging: the mean of several model files' weights, as one model file.

Why: late in training the weights wander around a minimum with the learning-rate noise;
their average sits nearer its centre and usually decodes better than any single snapshot
(icefall's --avg, ESPnet's averaging of the best epochs). Pick how many by a dev set.
"""

from __future__ import annotations

from pathlib import Path

import torch

from asr.checkpoint import SNAPSHOT_FOLDER, LoadedModel, load_model, save_model, snapshot_files
from asr.confidence import CALIBRATION_KEY
from asr.errors import AsrError
from asr.outputs import output_file


def expand_runs(sources: list[str | Path], last: int | None = None) -> list[Path]:
    """Model files as given; a training run's --out folder stands for its validation
    snapshots, the newest `last` of them (all when None), so that scripts need not list them."""
    if last is not None and last < 1:
        raise AsrError("--last", f"must be at least 1, not {last}")
    paths: list[Path] = []
    for source in map(Path, sources):
        if not source.is_dir():
            paths.append(source)
            continue
        snapshots = snapshot_files(source)
        if not snapshots:
            raise AsrError(str(source), f"no {SNAPSHOT_FOLDER}/step-*.safetensors in this run "
                           "(train it with --set train.keep_snapshots=N)")  # fmt: skip
        paths.extend(snapshots[-last:] if last else snapshots)
    return paths


def average_models(paths: list[str | Path], out: str | Path, half: bool = False) -> LoadedModel:
    """Average the weights of model files that share config, tokenizer and feature statistics;
    `half` stores the result's weights as float16 (half the file)."""
    if not paths:
        raise AsrError(str(out), "nothing to average (no model files given)")
    output_file(out)
    first = load_model(paths[0])
    total = {k: v.double().clone() for k, v in first.model.state_dict().items()}
    infos = [first.info]
    for path in paths[1:]:
        other = load_model(path)
        infos.append(other.info)
        if not other.config.same_model(first.config):
            raise AsrError(str(path), f"model or feature config differs from {paths[0]}")
        if other.tokenizer.to_dict() != first.tokenizer.to_dict():
            raise AsrError(str(path), f"tokenizer differs from {paths[0]}")
        if not (torch.equal(other.stats.mean, first.stats.mean)
                and torch.equal(other.stats.std, first.stats.std)):  # fmt: skip
            raise AsrError(str(path), f"feature statistics differ from {paths[0]}")
        for key, value in other.model.state_dict().items():
            total[key] += value.double()
    own = first.model.state_dict()
    first.model.load_state_dict({k: (v / len(paths)).to(own[k].dtype) for k, v in total.items()})
    # One file is a copy (e.g. --half): it keeps its own record. A mean records the newest
    # file's step and epoch (how far the run had gone), but not its validation scores or
    # confidence fit: those belong to that file's weights, not the mean's (asr eval, calibrate).
    info = first.info
    if len(paths) > 1:
        newest = _newest(infos)
        kept = {k: v for k, v in newest.items() if k not in ("valid", CALIBRATION_KEY)}
        info = {**kept, "averaged": [str(p) for p in paths]}
    save_model(out, first.model, first.config, first.tokenizer, first.stats, info, half=half)
    first.info = info
    return first


def _newest(infos: list[dict]) -> dict:
    """The header info of the furthest-trained file (largest step), whatever the order the
    files were given in; the last given where steps tie or are missing."""
    step = lambda info: info["step"] if isinstance(info.get("step"), int) else -1
    return max(reversed(infos), key=step)  # max keeps the first of equals: the last given
