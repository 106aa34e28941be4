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
    """The rate of optimizer step `step` (1, 2, ...) as a share of the peak: a linear warm-up
    from 1/warmup at step 1 to the peak at step `warmup`, then inverse square-root decay."""
    step = max(step, 1)
    return min(step / max(warmup, 1), math.sqrt(max(warmup, 1) / step))


def lr_schedule(optimizer, warmup: int) -> torch.optim.lr_scheduler.LambdaLR:
    """lr_factor as a scheduler, stepped once after each optimizer step. LambdaLR passes the
    steps taken so far (0 before the first), so the step about to be taken is that plus 1."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda taken: lr_factor(taken + 1, warmup))


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
    ranks = Distributed.from_env(training_device(cfg.device))
    device = ranks.device  # under torchrun on GPUs: this process's own
    show_progress = show_progress and ranks.main
    torch.set_num_threads(cfg.num_threads)
    saved = None
    if resume and (out / STATE_FILE).exists():
        saved = load_train_state(out / STATE_FILE)
        _check_resumable(saved, out / STATE_FILE, config)  # before the data work
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
    scheduler = lr_schedule(optimizer, cfg.warmup_steps)
    # `loss` and `speed` are the last step's, for the validation record; `ending` says the
    # steps of an epoch (or up to max_steps) are taken but not yet validated and written.
    state = {"step": 0, "epoch": 0, "batch": 0, "best_wer": math.inf, "best_cer": math.inf,
             "history": [], "loss": math.nan, "speed": 0.0, "ending": False}  # fmt: skip
    if saved is not None:
        stats = _resume(saved, out / STATE_FILE, model, optimizer, scheduler, state)
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
        best = (state["best_wer"], state["best_cer"])
        if score < best:
            state["best_wer"], state["best_cer"] = score
        if score < best or not (out / "best.safetensors").exists():
            checkpoint("best.safetensors", info)
        _write_history(out, state["history"])
        if show_progress:
            progress.console.print(_summary(record))

    ctc = CTCObjective(tokenizer.blank_id, cfg.delay_penalty)

    def steps(batches: list, task) -> None:
        """Train on the epoch's batches from state["batch"] on, until its end or max_steps."""
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
            state["loss"] = loss.item()
            state["speed"] = seconds / (time.perf_counter() - started)
            _show_step(progress, task, state, len(batches), show_progress)
            state["ending"] = state["batch"] == len(batches) or _done(state, cfg)
            if cfg.valid_every and state["step"] % cfg.valid_every == 0 and not state["ending"]:
                fraction = state["batch"] / len(batches)  # the end validates anyway
                validate(round(state["epoch"] + fraction, 3), state["loss"], state["speed"])
                save_state()
            elif state["step"] % cfg.checkpoint_every == 0:
                save_state()  # if `ending`, a resume goes straight on to the end's work
            if state["ending"]:
                break
        made.close()  # stops the batch workers when max_steps ended the epoch early

    with _progress(show_progress) as progress:
        if show_progress:
            progress.console.print(_where(device, cfg.workers, model, len(data.utterances)))
        while state["epoch"] < cfg.epochs and (state["ending"] or not _done(state, cfg)):
            batches = ranks.shard(length_bucketed_batches(
                data.utterances, cfg.batch_seconds, cfg.seed + state["epoch"]
            ), str(train_manifest))  # fmt: skip
            if state["batch"] > len(batches):  # would validate the same step forever
                raise AsrError(str(out / STATE_FILE), f"saved at batch {state['batch']} of an "
                               f"epoch that now has {len(batches)}: resume with the run's "
                               "train.batch_seconds, train.seed and number of processes")  # fmt: skip
            task = progress.add_task(
                f"epoch {state['epoch'] + 1}", total=len(batches), completed=state["batch"], info=""
            )
            if not state["ending"]:  # else a resume after the steps, before their end's work
                steps(batches, task)
            # The epoch's end, or the stop at max_steps inside it: validate, write last (and
            # best if better), and save, so the final weights are always in a model file.
            state["ending"] = False
            if state["batch"] == len(batches):
                state["epoch"] += 1
                state["batch"] = 0
                at = state["epoch"]
            else:
                at = round(state["epoch"] + state["batch"] / len(batches), 3)
            validate(at, state["loss"], state["speed"])
            save_state()
    in_sync = ranks.in_sync(model)
    ranks.close()
    if not in_sync:
        raise AsrError(f"rank {ranks.rank}", "weights differ between ranks after training")
    if ranks.main and cfg.calibrate and valid_manifests and (out / "best.safetensors").exists():
        _calibrate_best(out / "best.safetensors", valid_manifests[0], cfg, show_progress)
    return TrainResult(state["step"], state["best_wer"], state["history"])


def _show_step(progress, task, state: dict, batches: int, show: bool) -> None:
    """Advance the bar; a log file gets no live bar, so a plain line now and then instead."""
    info = f"loss {state['loss']:.3f}  {state['speed']:.0f} audio-s/s"
    progress.update(task, advance=1, info=info)
    if show and not progress.console.is_terminal and state["step"] % LOG_EVERY == 0:
        progress.console.print(f"step {state['step']} epoch {state['epoch'] + 1} "
                               f"batch {state['batch']}/{batches} {info}")  # fmt: skip


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


def _check_resumable(saved: dict, path, config: Config) -> None:
    """Refuse a resume whose config the saved run cannot honour: other network or features
    (the weights and feature statistics would not fit them), or other optimizer settings
    (the saved optimizer and schedule carry their own, and would silently win)."""
    before = config_from_dict(json.loads(saved["config"]), str(path))
    if not before.same_model(config):
        raise AsrError(str(path), "checkpoint was trained with a different model or feature "
                       "config: resume with the run's own, or start a new run")  # fmt: skip
    for key in ("lr", "weight_decay"):
        old, new = getattr(before.train, key), getattr(config.train, key)
        if old != new:
            raise AsrError(str(path), f"the run trains with train.{key}={old:g}, not {new:g}: a "
                           "resumed run keeps its optimizer settings (start a new run with "
                           "--init OUT/last.safetensors to change them)")  # fmt: skip


def _resume(saved: dict, path, model, optimizer, scheduler, state) -> FeatureStats:
    """Load a checked (_check_resumable) training state into the run; -> its statistics."""
    load_weights(model, saved["model"], str(path))
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    for key in state:  # a state saved by an older version lacks the newer keys
        if key in saved:
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
