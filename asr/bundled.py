"""Where the bundled model files live, and the names that stand for them.

Torch-free on purpose: the CLI resolves `--model default` before deciding whether it needs
torch at all (an `asr export` folder runs on onnxruntime alone).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = PACKAGE_DIR / "models" / "default.safetensors"
STREAMING_MODEL = PACKAGE_DIR / "models" / "streaming.safetensors"  # causal: for `asr live`
BUNDLED_LM = PACKAGE_DIR / "models" / "lm.arpa.gz"  # word 3-gram for the bundled model's beam
# Names that stand for the bundled files wherever a model path is taken (--model, --init),
# so that an installed package's users need not find its folder.
BUNDLED_MODELS = {"default": DEFAULT_MODEL, "streaming": STREAMING_MODEL}


def is_bundled(path: str | Path | None) -> bool:
    """Whether a model argument means a bundled model: none given, or one of BUNDLED_MODELS'
    names (a file of that name in the working folder wins)."""
    return path is None or (str(path) in BUNDLED_MODELS and not Path(path).exists())


def model_path(path: str | Path | None) -> Path:
    """A model argument -> its file: None is the bundled default model."""
    if path is None:
        return DEFAULT_MODEL
    return BUNDLED_MODELS[str(path)] if is_bundled(path) else Path(path)
