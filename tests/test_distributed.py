"""`asr train` under torchrun: two CPU processes (gloo) train in lockstep and resume."""

import json
import os
import subprocess
import sys

import pytest
import torch
import yaml
from test_train import tone_manifest  # noqa: F401  (fixture)

from asr.checkpoint import load_model
from asr.distributed import Distributed, backend_for, process_device
from asr.errors import AsrError


def torchrun(*args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
           "--master-port", "0", "--rdzv-backend", "c10d", "--rdzv-endpoint", "localhost:0",
           "-m", "cli", "train", *args]  # fmt: skip
    return subprocess.run(
        cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=300, check=False
    )


def test_two_processes_stay_in_sync_loss_falls_and_resume_works(tone_manifest, tmp_path):  # noqa: F811
    config = {
        "model": {"encoder": "gru", "hidden": 48, "layers": 1, "dropout": 0.0,
                  "frontend_channels": 8},
        "augment": {"speeds": [1.0], "noise_prob": 0.0, "reverb_prob": 0.0,
                    "bandlimit_prob": 0.0, "freq_masks": 0, "time_masks": 0},
        "train": {"epochs": 8, "batch_seconds": 1.0, "lr": 3e-3, "warmup_steps": 3},
    }  # fmt: skip
    cfg = tmp_path / "ddp.yaml"
    cfg.write_text(yaml.safe_dump(config))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    args = [str(cfg), "--train", str(tone_manifest), "--valid", str(tone_manifest),
            "--out", str(tmp_path / "run")]  # fmt: skip
    first = torchrun(*args, "--set", "train.epochs=4", cwd=root)
    assert first.returncode == 0, first.stderr[-3000:]
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]  # only rank 0 validates and writes
    resumed = torchrun(*args, "--resume", cwd=root)
    assert resumed.returncode == 0, resumed.stderr[-3000:]  # exits 1 if ranks' weights differ
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [r["epoch"] for r in history] == list(range(1, 9))
    assert history[-1]["loss"] < history[0]["loss"]
    assert load_model(tmp_path / "run" / "last.safetensors").info["epoch"] == 8


def test_the_backend_and_device_follow_the_training_device():
    """nccl only for CUDA training (a cpu run on a GPU machine is gloo), and under torchrun
    each GPU process on the GPU of its LOCAL_RANK, not all on cuda:0."""
    assert backend_for(torch.device("cpu")) == "gloo"
    assert backend_for(torch.device("cuda")) == "nccl"
    assert backend_for(torch.device("cuda", 1)) == "nccl"
    assert process_device(torch.device("cpu"), 3) == torch.device("cpu")
    assert process_device(torch.device("cuda"), 3) == torch.device("cuda", 3)
    assert process_device(torch.device("cuda", 0), 1) == torch.device("cuda", 1)


def test_fewer_batches_than_processes_is_an_error_naming_the_manifest():
    assert Distributed(rank=1, world=2).shard(["a", "b", "c"], "t.jsonl") == ["b"]
    with pytest.raises(AsrError, match="1 batches per epoch, fewer than the 2 processes") as err:
        Distributed(rank=0, world=2).shard(["a"], "t.jsonl")
    assert err.value.where == "t.jsonl"
