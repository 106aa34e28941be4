"""Building training batches in worker processes, so a GPU is not left waiting on the CPU.

Why a separate module: on a GPU the model takes a few milliseconds a step while decoding,
perturbing and featurizing a batch takes the CPU far longer. Each batch depends only on its
utterance indices and its step's seed, so workers build exactly the batches the training loop
would have built itself, in the same order: results and --resume do not depend on `workers`.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import torch
from torch.utils.data import DataLoader, Dataset

from asr.dataset import AudioCache, BatchMaker
from asr.errors import AsrError


def step_seed(seed: int, step: int, rank: int = 0) -> int:
    """The seed of everything random in training step `step` (augmentation and dropout)."""
    return seed * 1_000_003 + step + rank * 1_000_000_007


class _StepBatches(Dataset):
    def __init__(self, maker: BatchMaker, plan: list, stats, augment):
        self.maker, self.plan, self.stats, self.augment = maker, plan, stats, augment

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, i: int):
        seed, indices = self.plan[i]
        try:
            return self.maker.make(
                indices, self.stats, self.augment, torch.Generator().manual_seed(seed)
            )
        except AsrError as err:  # handed back whole: DataLoader would re-raise a RuntimeError
            return err


def _one_thread(_worker: int) -> None:
    torch.set_num_threads(1)  # each worker is one of many processes: no oversubscription


def step_batches(maker: BatchMaker, plan: list, stats, augment, workers: int):
    """Iterate the batches of `plan`, a list of (step seed, utterance indices), in order."""
    steps = _StepBatches(maker, plan, stats, augment)
    made = (steps[i] for i in range(len(steps)))
    if workers > 0:
        made = DataLoader(
            steps, batch_size=None, shuffle=False,
            num_workers=workers, worker_init_fn=_one_thread, prefetch_factor=4,
        )  # fmt: skip
    for batch in made:
        if isinstance(batch, AsrError):
            raise batch
        yield batch


def _decode(job):
    rate, paths = job
    cache = AudioCache(rate)
    # numpy, not torch: a tensor sent between processes keeps a file descriptor open in the
    # receiver, and a 21,000-file corpus ran past a 20,000 limit ("Too many open files").
    return [(p, cache.stored(p).numpy()) for p in paths]


def preload(maker: BatchMaker, workers: int, chunk: int = 64) -> None:
    """Decode every training recording once, in parallel, into the maker's cache; batch
    workers then share it (fork) instead of each decoding the corpus again every epoch."""
    paths = sorted({str(u.audio) for u in maker.utterances} - set(maker.cache.paths()))
    if workers <= 0 or not paths:
        return
    jobs = [(maker.settings.sample_rate, paths[i : i + chunk]) for i in range(0, len(paths), chunk)]
    # forkserver: a fork of a process that already runs CUDA or OpenMP threads can deadlock.
    context = multiprocessing.get_context("forkserver")
    try:
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_one_thread, initargs=(0,)
        ) as pool:
            for decoded in pool.map(_decode, jobs):
                for path, wave in decoded:
                    maker.cache.put(path, torch.from_numpy(wave))
    except BrokenProcessPool as err:
        # Seen once on a 16-core GPU machine with two trainings at once. Decoding ahead only
        # saves time: the batch workers decode what they need instead, slower but the same.
        print(f"asr: warning: decoding the corpus ahead failed ({err}); "
              "batch workers will decode as they go", file=sys.stderr)  # fmt: skip
