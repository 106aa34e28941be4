"""Multi-process training under torchrun: PyTorch DistributedDataParallel, nothing home-made.

`torchrun --nproc-per-node N asr train ...` sets RANK/WORLD_SIZE; each process then trains on
its own share of every step's batches (gloo on CPU, nccl on GPU), gradients are averaged by
DDP, and only rank 0 validates and writes files. Without torchrun this is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world: int = 1

    @classmethod
    def from_env(cls) -> Distributed:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return cls(dist.get_rank(), dist.get_world_size())

    @property
    def main(self) -> bool:
        """Rank 0: the one process that validates, logs and writes checkpoints."""
        return self.rank == 0

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        if self.world == 1:
            return model
        return torch.nn.parallel.DistributedDataParallel(model)

    def shard(self, batches: list) -> list:
        """Step i of this rank trains on batch i * world + rank; a ragged tail is dropped so
        every rank takes the same number of steps (DDP steps in lockstep)."""
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
                dist.broadcast(t, src=0)

    def in_sync(self, model: torch.nn.Module) -> bool:
        """Whether every rank holds bit-identical weights (checked once training ends)."""
        if self.world == 1:
            return True
        flat = torch.cat([p.detach().reshape(-1).double() for p in model.parameters()])
        local = torch.stack([flat.sum(), (flat * torch.arange(len(flat)) % 9973).sum()])
        gathered = [torch.zeros_like(local) for _ in range(self.world)]
        dist.all_gather(gathered, local)
        return all(torch.equal(g, gathered[0]) for g in gathered)
