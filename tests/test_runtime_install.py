"""The runtime-only install (requirements-runtime.txt, then `pip install --no-deps .`) runs an
export folder without torch. Its CLI runs here in a fresh interpreter where every module that
only the full install brings (torch, torchaudio, librosa, matplotlib, yaml, ... and what they
pull in) cannot be imported, as in such an install."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from asr.bundled import PACKAGE_DIR

RUNTIME_FILE = Path(__file__).resolve().parent.parent / "requirements-runtime.txt"
INSTALLERS = {"pip", "setuptools", "wheel"}  # in any virtual environment
SAMPLE = PACKAGE_DIR / "samples" / "sample2.flac"


def runtime_requirements() -> list[Requirement]:
    lines = RUNTIME_FILE.read_text().splitlines()
    return [Requirement(x) for x in lines if x.strip() and not x.startswith("#")]


def _installs(names: set[str]) -> set[str]:
    """`names` and every distribution they require, installed or not (extras left out)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [Requirement(r).name for r in requires if "extra ==" not in r]
    return seen


@cache
def full_install_only_modules(extras: tuple[str, ...] = ()) -> frozenset[str]:
    """Top-level modules of the distributions that `pip install .` brings and the runtime
    requirements (plus the distributions `extras`) do not."""
    everything = [Requirement(r) for r in metadata.requires("asr") or []]
    full = _installs({r.name for r in everything if not r.marker})
    runtime = _installs({r.name for r in runtime_requirements()} | set(extras) | INSTALLERS)
    only_full = full - runtime
    return frozenset(
        module
        for module, dists in metadata.packages_distributions().items()
        if dists and all(canonicalize_name(d) in only_full for d in dists)
    )


BLOCKER = (
    "import importlib.abc, sys\n"
    "BLOCKED = set(sys.argv.pop(1).split(','))\n"
    "class Absent(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.partition('.')[0] in BLOCKED:\n"
    "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
    "sys.meta_path.insert(0, Absent())\n"
)


def run_runtime_only(code: str, *args: str, allow: tuple[str, ...] = (),
                     timeout: float = 300) -> subprocess.CompletedProcess:  # fmt: skip
    """Run `code` (which reads sys.argv[1:]) where the full install's modules are absent,
    but for the distributions `allow` (one the command is asked to use: matplotlib for
    `--plot`) and what they require."""
    blocked = ",".join(sorted(full_install_only_modules(tuple(allow))))
    return subprocess.run([sys.executable, "-c", BLOCKER + code, blocked, *args],
                          capture_output=True, text=True, check=False, timeout=timeout)  # fmt: skip


CLI = "from cli import app\nsys.argv = ['asr', *sys.argv[1:]]\napp()\n"


def run_cli_runtime_only(*args: str, allow: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """The CLI as a runtime-only install runs it, exiting with the CLI's code."""
    return run_runtime_only(CLI, *args, allow=allow)


def test_the_runtime_requirements_are_the_full_installs_own():
    """Each line is pyproject's requirement word for word in meaning (same name, same
    versions), so the two installs cannot drift apart; torch is not among them."""
    declared = {canonicalize_name(r.name): r for r in map(Requirement, metadata.requires("asr"))}
    runtime = runtime_requirements()
    assert runtime
    for req in runtime:
        full = declared.get(canonicalize_name(req.name))
        assert full is not None, f"{req.name} is not a dependency in pyproject.toml"
        assert req.specifier == full.specifier, (req, full)
    names = {canonicalize_name(r.name) for r in runtime}
    assert not names & {"torch", "torchaudio", "librosa", "matplotlib", "onnx", "pyyaml"}


def test_the_blocked_modules_are_the_full_installs_heavy_ones():
    """The check below would pass vacuously if it blocked nothing."""
    blocked = full_install_only_modules()
    assert {"torch", "torchaudio", "librosa", "matplotlib", "yaml", "safetensors"} <= blocked
    assert not blocked & {"numpy", "onnxruntime", "soundfile", "typer", "flashlight", "jiwer"}


def test_the_blocker_makes_a_module_absent():
    proc = run_runtime_only("import numpy\nimport torch\n")
    assert proc.returncode != 0
    assert "No module named 'torch'" in proc.stderr


def test_a_torch_command_in_a_runtime_install_is_one_line(tmp_path):
    """The bundled model file needs torch: one line saying what this install can run."""
    proc = run_cli_runtime_only("transcribe", str(SAMPLE))
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("asr: error: torch: not installed"), proc.stderr
    assert "--model DIR" in lines[0] and "Traceback" not in proc.stderr
    proc = run_cli_runtime_only("train", str(tmp_path / "c.yaml"), "--train", "a", "--valid", "b",
                                "--out", str(tmp_path / "o"))  # fmt: skip
    assert "asr: error: " in proc.stderr and "not installed" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()
