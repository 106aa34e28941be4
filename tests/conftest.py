"""Shared fixtures: fixed seeds, small audio files written on the fly, a tiny trained-model factory."""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from asr.bundled import PACKAGE_DIR

SAMPLES_DIR = PACKAGE_DIR / "samples"


@pytest.fixture(autouse=True)
def fixed_seeds():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    torch.set_num_threads(1)


def tone(seconds: float, rate: int = 16000, freq: float = 440.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def write_audio(tmp_path):
    """write_audio(name, samples, rate, **soundfile kwargs) -> path of a real audio file."""

    def write(name: str, samples: np.ndarray, rate: int = 16000, **kwargs) -> Path:
        path = tmp_path / name
        sf.write(str(path), samples, rate, **kwargs)
        return path

    return write


def env_with_this_python() -> dict[str, str]:
    """The environment for a recipe script: `python` and `asr` are this test run's."""
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def bundled_samples() -> list[dict]:
    """The shipped sample recordings and their known transcripts."""
    with open(SAMPLES_DIR / "samples.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_wordnet(folder: Path, glosses: dict[str, str]) -> Path:
    """A stand-in for Debian's WordNet: data.{noun,verb,adj,adv} holding these synset lines
    (a part of speech not given gets an empty file)."""
    folder.mkdir(parents=True, exist_ok=True)
    for part in ("noun", "verb", "adj", "adv"):
        (folder / f"data.{part}").write_text(glosses.get(part, ""))
    return folder
