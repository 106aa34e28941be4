"""Training speed on an accelerator against one CPU thread, and what the batch workers feed.

    python bench/train_device.py [--device cuda] [--config configs/blstm.yaml]
                                 [--batch-seconds 480 960] [--steps 20]
                                 [--manifest TRAIN.jsonl --workers 14]  (0: in the loop)

Prints, per batch size, the optimizer-step time and audio-seconds per second of the model
alone on --device and on one CPU thread in the same run (their ratio is the speed-up), and
with --manifest, how many audio-seconds per second --workers processes turn into augmented
batches (`asr train`'s train.workers): on a GPU the slower of the two sets the pace.
Measured on an H200 (16 cores), configs/blstm.yaml: 9,100 audio-s/s at 480 s batches,
16,800 at 960 s; the whole `asr train` loop with 14 workers ran at 4,500-5,100.
"""

from __future__ import annotations

import argparse
import time

import torch

from asr.batch_loader import preload, step_batches
from asr.config import load_config
from asr.ctc import CTCObjective
from asr.dataset import BatchMaker
from asr.manifest import length_bucketed_batches, read_manifest
from asr.model import CTCModel
from asr.text import CharTokenizer
from asr.train import training_device


def step_speed(cfg, device: torch.device, batch_seconds: int, steps: int) -> tuple[float, float]:
    """(seconds per optimizer step, audio-s per s) on 10 s noise utterances."""
    torch.manual_seed(0)
    model = CTCModel(cfg.model, cfg.features.n_mels, len(CharTokenizer())).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), 1e-4)
    ctc = CTCObjective(0)
    count = max(1, batch_seconds // 10)
    feats = torch.randn(count, 1000, cfg.features.n_mels, device=device)
    lens = torch.full((count,), 1000)
    targets = torch.randint(1, 28, (count * 100,), device=device)
    target_lens = torch.full((count,), 100)
    warmup = min(3, steps)
    for i in range(warmup + steps):
        if i == warmup:
            _sync(device)
            started = time.perf_counter()
        log_probs, out_lens = model(feats, lens)
        loss = ctc(log_probs, out_lens, targets, target_lens)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    _sync(device)
    per_step = (time.perf_counter() - started) / steps
    return per_step, count * 10 / per_step


def feed_speed(cfg, manifest: str, workers: int, batch_seconds: int, batches: int) -> float:
    """Audio-s per s that `workers` batch-building processes deliver (after decoding ahead)."""
    tokenizer = CharTokenizer()
    maker = BatchMaker(read_manifest(manifest), cfg.features, tokenizer)
    preload(maker, workers)
    stats = maker.compute_stats(limit=200)
    plan = list(enumerate(length_bucketed_batches(maker.utterances, batch_seconds, 0)[:batches]))
    for _, indices in plan:  # decoded ahead either way: time the building, not the decoding
        for i in indices:
            maker.cache.get(maker.utterances[i].audio)
    started, seconds = time.perf_counter(), 0.0
    for batch in step_batches(maker, plan, stats, cfg.augment, workers):
        seconds += batch.seconds
    return seconds / (time.perf_counter() - started)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--config", default="configs/blstm.yaml")
    parser.add_argument("--batch-seconds", type=int, nargs="+", default=[480, 960])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cpu-steps", type=int, default=2, help="one CPU thread is slow")
    parser.add_argument("--manifest", help="training manifest for the batch-worker figure")
    parser.add_argument("--workers", type=int, default=14)
    args = parser.parse_args()
    cfg = load_config(args.config)
    device = training_device(args.device)
    threads = torch.get_num_threads()
    for seconds in args.batch_seconds:
        torch.set_num_threads(1)
        cpu_step, cpu_speed = step_speed(cfg, torch.device("cpu"), seconds, args.cpu_steps)
        torch.set_num_threads(threads)
        step, speed = step_speed(cfg, device, seconds, args.steps)
        print(f"{seconds} s batches: {device} {step * 1000:.1f} ms/step, {speed:.0f} audio-s/s; "
              f"1 CPU thread {cpu_step * 1000:.0f} ms/step, {cpu_speed:.0f} audio-s/s; "
              f"{speed / cpu_speed:.1f}x")  # fmt: skip
    if args.manifest:
        count = 4 * max(1, args.workers)
        speed = feed_speed(cfg, args.manifest, args.workers, args.batch_seconds[0], count)
        who = f"{args.workers} batch workers build" if args.workers else "the training loop builds"
        print(f"{who} {speed:.0f} audio-s/s of augmented batches")


if __name__ == "__main__":
    main()
