"""`asr train` under torchrun: two CPU processes (gloo) train in lockstep and resume."""

import json
import os
import subprocess
import sys

import yaml
from test_train import tone_manifest  # noqa: F401  (fixture)

from asr.checkpoint import load_model


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
