"""The training loop: CTC, AdamW, warm-up then decay, clipping, validation, resumable checkpoints.

Randomness of a step (augmentation, dropout) is drawn from generators seeded by
(seed, step), and the batch order of an epoch from (seed, epoch); a resumed run therefore
takes exactly the steps an uninterrupted one would have taken.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from asr.batch_loader import preload, step_batches, step_seed
from asr.bpe import BpeTokenizer
from asr.checkpoint import (
    SNAPSHOT_FOLDER,
    atomic_write,
    load_train_state,
    load_weights,
    save_model,
    save_train_state,
    snapshot_files,
)
from asr.config import Config, config_from_dict
from asr.ctc import CTCObjective
from asr.dataset import Batch, BatchMaker
from asr.decoding import greedy_decode
from asr.distributed import Distributed
from asr.errors import AsrError
from asr.evaluate import score
from asr.features import FeatureStats
from asr.manifest import length_bucketed_batches, read_checked_manifest
from asr.model import SUBSAMPLING, CTCModel
from asr.outputs import refuse_option_like
from asr.text import CharTokenizer, Tokenizer, tokenizer_from_dict

STATE_FILE = "train_state.pt"
LOG_EVERY = 50  # steps between plain progress lines when stderr is not a terminal


@dataclass
class TrainResult:
    step: int
    best_wer: float
    history: list[dict] = field(default_factory=list)


def lr_factor(step: int, warmup: int) -> float:
    """Linear warm-up to the peak, then inverse square-root decay."""
    step = max(step, 1)
    return min(step / max(warmup, 1), math.sqrt(max(warmup, 1) / step))


def selection_score(record: dict, valid_manifests: list) -> tuple[float, float]:
    """What picks best.safetensors, lower is better: WER on the first validation set, ties
    broken by its CER (early in training every WER is 1.0 while CER already falls); the
    training loss when there is no validation set."""
    if not valid_manifests:
        return record["loss"], 0.0
    first = valid_manifests[0]
    return record.get(f"wer:{first}", math.inf), record.get(f"cer:{first}", math.inf)


def train(
    config: Config,
    train_manifest: str | Path,
    valid_manifests: list[str | Path],
    out_dir: str | Path,
    resume: bool = False,
    show_progress: bool = True,
    init: str | Path | None = None,
) -> TrainResult:
    """Train a model; the first validation manifest picks the best checkpoint.

    `init` starts from a model file's weights and feature statistics (fine-tuning, or going
    on from a bundled model in a new session); its model config must match.
    """
    cfg = config.train
    refuse_option_like(out_dir)  # `--out --resume` would train into a folder named --resume
    out = Path(out_dir)
    if out.exists() and not out.is_dir():  # before reading hours of audio for the statistics
        raise AsrError(str(out), "is a file; expected a folder for the training run")
    if not resume and (out / STATE_FILE).exists():  # a fresh start would overwrite its models
        raise AsrError(str(out), f"holds a training run ({STATE_FILE}): add --resume to go on "
                       "with it, or choose another --out")  # fmt: skip
    ranks = Distributed.from_env()
    show_progress = show_progress and ranks.main
    torch.set_num_threads(cfg.num_threads)
    device = training_device(cfg.device)
    saved = None
    if resume and (out / STATE_FILE).exists():
        saved = load_train_state(out / STATE_FILE)
    elif resume:
        raise AsrError(str(out / STATE_FILE), "nothing to resume (no training state)")
    start = None  # the --init model file, read once
    if init and saved is None:
        from asr.checkpoint import load_model

        start = load_model(init)
    utterances = read_checked_manifest(train_manifest)
    tokenizer = _tokenizer(config, utterances, start, saved)
    data = BatchMaker(_usable(utterances, tokenizer), config.features, tokenizer)
    valid = {
        str(m): BatchMaker(read_checked_manifest(m), config.features, tokenizer)
        for m in valid_manifests
    }

    torch.manual_seed(cfg.seed)  # the initial weights are part of the run's identity
    model = CTCModel(config.model, config.features.n_mels, len(tokenizer))
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, cfg.warmup_steps)
    )
    state = {"step": 0, "epoch": 0, "batch": 0, "best_wer": math.inf, "history": []}
    if saved is not None:
        stats = _resume(saved, out / STATE_FILE, config, model, optimizer, scheduler, state)
    else:
        stats = _initialize(start, init, config, model) if start else data.compute_stats()
    ranks.broadcast_([stats.mean, stats.std, *model.state_dict().values()])
    preload(data, cfg.workers)  # before CUDA starts threads in this process
    model.to(device)
    _optimizer_to(optimizer, device)
    net = ranks.wrap(model)
    if ranks.main:
        out.mkdir(parents=True, exist_ok=True)

    def checkpoint(name: str, info: dict) -> None:
        if not ranks.main:
            return
        save_model(out / name, model, config, tokenizer, stats, info)

    def save_state() -> None:
        ranks.barrier()
        if not ranks.main:
            return
        save_train_state(out / STATE_FILE, {
            **state, "config": json.dumps(config.to_dict()), "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "stats_mean": stats.mean, "stats_std": stats.std,
            "tokenizer": json.dumps(tokenizer.to_dict()),
        })  # fmt: skip

    def validate(epoch: float, loss: float, speed: float) -> None:
        """Score the validation sets, keep last and best (by the first set), log and plot."""
        if not ranks.main:
            return
        record = {"epoch": epoch, "step": state["step"], "loss": loss,
                  "audio_seconds_per_second": speed}  # fmt: skip
        record.update(_validate(model, valid, stats, tokenizer, cfg.valid_max_utts, device))
        state["history"].append(record)
        score = selection_score(record, valid_manifests)
        info = {"epoch": epoch, "step": state["step"], "valid": record}
        checkpoint("last.safetensors", info)
        if cfg.keep_snapshots:
            _snapshot(out, state["step"], cfg.keep_snapshots)
        best = (state["best_wer"], state.get("best_cer", math.inf))
        if score < best:
            state["best_wer"], state["best_cer"] = score
        if score < best or not (out / "best.safetensors").exists():
            checkpoint("best.safetensors", info)
        _write_history(out, state["history"])
        if show_progress:
            progress.console.print(_summary(record))

    ctc = CTCObjective(tokenizer.blank_id, cfg.delay_penalty)
    with _progress(show_progress) as progress:
        if show_progress:
            progress.console.print(_where(device, cfg.workers, model, len(data.utterances)))
        while state["epoch"] < cfg.epochs and not _done(state, cfg):
            batches = ranks.shard(length_bucketed_batches(
                data.utterances, cfg.batch_seconds, cfg.seed + state["epoch"]
            ))  # fmt: skip
            task = progress.add_task(
                f"epoch {state['epoch'] + 1}", total=len(batches), completed=state["batch"], info=""
            )
            started, seconds = time.perf_counter(), 0.0
            model.train()
            plan = [
                (step_seed(cfg.seed, state["step"] + k, ranks.rank), indices)
                for k, indices in enumerate(batches[state["batch"] :])
            ]
            made = step_batches(data, plan, stats, config.augment, cfg.workers)
            for seed, _ in plan:
                batch = _to_device(next(made), device)
                torch.manual_seed(seed)  # dropout
                log_probs, out_lens = net(batch.feats, batch.feat_lens, cfg.tbptt_frames)
                loss = ctc(log_probs, out_lens, batch.targets, batch.target_lens)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)  # DDP-averaged
                optimizer.step()
                scheduler.step()
                state["step"] += 1
                state["batch"] += 1
                seconds += batch.seconds * ranks.world  # every rank did a batch like this
                speed = seconds / (time.perf_counter() - started)
                progress.update(
                    task, advance=1, info=f"loss {loss.item():.3f}  {speed:.0f} audio-s/s"
                )
                if (
                    show_progress
                    and not progress.console.is_terminal
                    and state["step"] % LOG_EVERY == 0
                ):
                    # A log file gets no live bar: leave a plain line now and then instead.
                    progress.console.print(f"step {state['step']} epoch {state['epoch'] + 1} "
                                           f"batch {state['batch']}/{len(batches)} loss {loss.item():.3f} "
                                           f"{speed:.0f} audio-s/s")  # fmt: skip
                mid_epoch = state["batch"] < len(batches)  # the epoch's end validates anyway
                if cfg.valid_every and state["step"] % cfg.valid_every == 0 and mid_epoch:
                    fraction = state["batch"] / len(batches)
                    validate(round(state["epoch"] + fraction, 3), loss.item(), speed)
                    save_state()
                if state["step"] % cfg.checkpoint_every == 0 or _done(state, cfg):
                    save_state()
                if _done(state, cfg):
                    break
            made.close()  # stops the batch workers when max_steps ended the epoch early
            if state["batch"] < len(batches):
                break  # stopped by max_steps inside the epoch: resume picks it up here
            state["epoch"] += 1
            state["batch"] = 0
            validate(state["epoch"], loss.item(), speed)
            save_state()
    in_sync = ranks.in_sync(model)
    ranks.close()
    if not in_sync:
        raise AsrError(f"rank {ranks.rank}", "weights differ between ranks after training")
    if ranks.main and cfg.calibrate and valid_manifests and (out / "best.safetensors").exists():
        _calibrate_best(out / "best.safetensors", valid_manifests[0], cfg, show_progress)
    return TrainResult(state["step"], state["best_wer"], state["history"])


def _calibrate_best(best: Path, manifest, cfg, show: bool) -> None:
    """Fit the best model's greedy word confidence on the validation set, in place. A set the
    model gets all right (or all wrong) cannot be fitted: the scores then stay raw."""
    from asr.calibrate import calibrate

    try:
        (fit,) = calibrate(best, manifest, best, beam=None, max_utts=cfg.valid_max_utts)
    except AsrError as err:
        if show:
            print(f"confidence left raw: {err}")
        return
    if show:
        print(f"confidence calibrated on {Path(manifest).name}: calibration error "
              f"{fit.error_before:.3f} -> {fit.error_after:.3f} over {fit.words} words")  # fmt: skip


def training_device(name: str) -> torch.device:
    """`train.device` -> a torch device; `auto` picks the GPU when there is one."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise AsrError(
            "config", f"train.device '{name}' is not a device (cpu, cuda, cuda:N, auto)"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise AsrError("config", f"train.device is '{name}' but torch sees no CUDA GPU here")
    return device


def _where(device: torch.device, workers: int, model, utterances: int) -> str:
    """One line on what trains where, so a GPU run that silently fell back is noticed."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    feeding = f"{workers} batch workers" if workers else "batches built in the loop"
    return (f"training {model.num_parameters() / 1e6:.2f} M parameters on {device} ({name}), "
            f"{feeding}, {utterances} utterances")  # fmt: skip


def _to_device(batch: Batch, device: torch.device) -> Batch:
    if device.type == "cpu":
        return batch
    move = lambda t: t.to(device, non_blocking=True)
    return Batch(move(batch.feats), batch.feat_lens, move(batch.targets), batch.target_lens,
                 batch.seconds)  # fmt: skip


def _optimizer_to(optimizer, device: torch.device) -> None:
    """Resumed optimizer state is loaded onto the CPU; move it where the weights are."""
    for per_param in optimizer.state.values():
        for key, value in per_param.items():
            if torch.is_tensor(value) and key != "step":
                per_param[key] = value.to(device)


def _usable(utterances, tokenizer):
    """Drop utterances CTC cannot learn from: no labels, or more labels than encoder frames."""
    keep = []
    for u in utterances:
        labels = len(tokenizer.encode(u.text))
        frames = u.duration * 100 / SUBSAMPLING
        if labels and (u.duration == 0 or labels <= frames):
            keep.append(u)
    if not keep:
        raise AsrError("train manifest", "no usable utterances (empty or too-long transcripts)")
    return keep


def _snapshot(out: Path, step: int, keep: int) -> None:
    """Keep last.safetensors as snapshots/step-N.safetensors too (the newest `keep` of them),
    for `asr average`."""
    folder = out / SNAPSHOT_FOLDER
    folder.mkdir(exist_ok=True)
    atomic_write(folder / f"step-{step}.safetensors", (out / "last.safetensors").read_bytes())
    for old in snapshot_files(out)[:-keep]:
        old.unlink()


def _done(state: dict, cfg) -> bool:
    return bool(cfg.max_steps) and state["step"] >= cfg.max_steps


def _initialize(start, path, config, model) -> FeatureStats:
    """Copy the --init model file's weights (`start`, read from `path`) into `model`; -> its
    feature statistics."""
    network = dataclasses.replace(  # the units may differ: a new head then
        start.config.model, units=config.model.units, bpe_size=config.model.bpe_size
    )
    if network != config.model or start.config.features != config.features:
        raise AsrError(str(path), "--init model has a different model or feature config")
    weights = start.model.state_dict()
    if start.config.model.units != config.model.units:
        # Letters to pieces (or back): the front end and encoder carry over, what they have
        # learnt to hear; the head, one row per unit, starts afresh.
        weights |= {k: v for k, v in model.state_dict().items() if k.startswith("head.")}
    load_weights(model, weights, str(path))
    return start.stats


def _tokenizer(config: Config, utterances, start, saved: dict | None) -> Tokenizer:
    """The run's units: a resumed run's own, the --init model's (`start`) if it has the
    config's kind, else characters or word pieces learnt now from the training transcripts
    (config model.units; _initialize then gives the --init model a new head)."""
    units = config.model.units
    if saved is not None:  # runs saved before BPE existed are character runs
        stored = saved.get("tokenizer")
        return tokenizer_from_dict(json.loads(stored)) if stored else CharTokenizer()
    if start is not None and start.tokenizer.kind == units:
        return start.tokenizer
    if units == "bpe":
        return BpeTokenizer.train((u.text for u in utterances), config.model.bpe_size)
    return CharTokenizer()


def _resume(saved: dict, path, config, model, optimizer, scheduler, state) -> FeatureStats:
    if config_from_dict(json.loads(saved["config"]), str(path)).model != config.model:
        raise AsrError(str(path), "checkpoint was trained with a different model config")
    load_weights(model, saved["model"], str(path))
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    for key in state:
        state[key] = saved[key]
    return FeatureStats(saved["stats_mean"], saved["stats_std"])


@torch.no_grad()
def _validate(model, valid: dict, stats, tokenizer, max_utts: int, device) -> dict:
    """Greedy WER and CER on each validation manifest."""
    model.eval()
    frame_seconds = SUBSAMPLING * 0.01
    results = {}
    for name, maker in valid.items():
        count = len(maker.utterances) if not max_utts else min(max_utts, len(maker.utterances))
        refs, hyps = [], []
        for start in range(0, count, 16):
            indices = list(range(start, min(start + 16, count)))
            batch = maker.make(indices, stats)
            log_probs, out_lens = model(batch.feats.to(device), batch.feat_lens)
            log_probs = log_probs.cpu()
            for i, idx in enumerate(indices):
                hyps.append(
                    greedy_decode(log_probs[i, : out_lens[i]], tokenizer, frame_seconds).text
                )
                refs.append(maker.utterances[idx].text)
        scores = score(refs, hyps)
        results[f"wer:{name}"] = scores.wer
        results[f"cer:{name}"] = scores.cer
    model.train()
    return results


def _write_history(out: Path, history: list[dict]) -> None:
    (out / "history.json").write_text(json.dumps(history, indent=1))
    from asr.plots import plot_training_curves

    plot_training_curves(history, out / "training_curves.png")


def _summary(record: dict) -> str:
    parts = [f"epoch {record['epoch']:g} step {record['step']} loss {record['loss']:.3f}"]
    parts += [f"{k} {v:.3f}" for k, v in record.items() if k.startswith("wer:")]
    return "  ".join(parts)


def _progress(show: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        disable=not show, transient=False,
    )  # fmt: skip
