"""Multi-process training under torchrun: PyTorch DistributedDataParallel, nothing home-made.

`torchrun --nproc-per-node N asr train ...` sets RANK/WORLD_SIZE; each process then trains on
its own share of every step's batches (gloo on CPU, nccl on GPU), gradients are averaged by
DDP, and only rank 0 validates and writes files. Without torchrun this is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from asr.errors import AsrError


def backend_for(device: torch.device) -> str:
    """The process group's backend for the training device: nccl moves CUDA tensors only,
    gloo CPU tensors (a cpu run on a machine with GPUs is a gloo run)."""
    return "nccl" if device.type == "cuda" else "gloo"


def process_device(device: torch.device, local_rank: int) -> torch.device:
    """Where one torchrun process trains: on GPUs each takes the one of its LOCAL_RANK
    (train.device cuda, cuda:N and auto all mean "the GPUs" there); on the CPU all share it."""
    return torch.device("cuda", local_rank) if device.type == "cuda" else device


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world: int = 1
    # this process's: where its model trains and its collectives' tensors live
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @classmethod
    def from_env(cls, device: torch.device) -> Distributed:
        """Join torchrun's process group (if any) for training on `device`."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls(device=device)
        device = process_device(device, int(os.environ.get("LOCAL_RANK", "0")))
        if device.type == "cuda":
            torch.cuda.set_device(device)  # else every rank's nccl work lands on cuda:0
        if not dist.is_initialized():
            dist.init_process_group(backend_for(device))
        return cls(dist.get_rank(), dist.get_world_size(), device)

    @property
    def main(self) -> bool:
        """Rank 0: the one process that validates, logs and writes checkpoints."""
        return self.rank == 0

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """DDP around `model`, which is already on this process's device."""
        if self.world == 1:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def shard(self, batches: list, source: str) -> list:
        """Step i of this rank trains on batch i * world + rank; a ragged tail is dropped so
        every rank takes the same number of steps (DDP steps in lockstep). `source` (the
        training manifest) is blamed when there are fewer batches than processes."""
        if len(batches) < self.world:  # every rank would take no step at all
            raise AsrError(source, f"{len(batches)} batches per epoch, fewer than the "
                           f"{self.world} processes (lower train.batch_seconds)")  # fmt: skip
        steps = len(batches) // self.world
        return [batches[i * self.world + self.rank] for i in range(steps)]

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        """Leave the process group together: a rank that exits with gloo's threads still
        attached can abort its peer ("terminate called without an active exception")."""
        if self.world > 1 and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()

    def broadcast_(self, tensors: list[torch.Tensor]) -> None:
        """Give every rank rank 0's values (e.g. the initial weights, feature statistics)."""
        if self.world > 1:
            for t in tensors:
                sent = t.to(self.device)  # t itself on the CPU (gloo); a copy for nccl
                dist.broadcast(sent, src=0)
                if sent is not t:
                    t.copy_(sent)

    def in_sync(self, model: torch.nn.Module) -> bool:
        """Whether every rank holds bit-identical weights (checked once training ends)."""
        if self.world == 1:
            return True
        flat = torch.cat([p.detach().reshape(-1).double() for p in model.parameters()])
        index = torch.arange(len(flat), device=flat.device)
        local = torch.stack([flat.sum(), (flat * index % 9973).sum()]).to(self.device)
        gathered = [torch.zeros_like(local) for _ in range(self.world)]
        dist.all_gather(gathered, local)
        return all(torch.equal(g, gathered[0]) for g in gathered)
