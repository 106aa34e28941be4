"""Run an exported ONNX folder (see asr.export) with onnxruntime and numpy: no torch import.

For CPUs and edge devices where PyTorch is too big: audio is read with soundfile and
resampled with soxr, features, model and (optionally int8) weights run in onnxruntime, and
greedy decoding is the same pure-Python code the torch path uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from asr.decoding import Hypothesis, collapse_path, words_from_tokens
from asr.errors import AsrError
from asr.text import tokenizer_from_dict


def is_onnx_folder(path) -> bool:
    return path is not None and Path(path).is_dir() and (Path(path) / "model.json").exists()


def load_audio_np(path: str | Path, rate: int) -> np.ndarray:
    """Mono float32 at `rate`, with the same one-line errors as the torch path."""
    import soundfile as sf
    import soxr

    path = Path(path)
    if not path.exists():
        raise AsrError(str(path), "no such file")
    if path.is_dir():
        raise AsrError(str(path), "is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AsrError(str(path), "empty file")
    try:
        data, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as err:
        raise AsrError(str(path), f"cannot decode audio ({err})") from None
    if data.shape[0] == 0:
        raise AsrError(str(path), "zero-length audio")
    wave = data.mean(axis=1)
    if file_rate != rate:
        wave = soxr.resample(wave, file_rate, rate, quality="HQ")
    return np.ascontiguousarray(wave, dtype=np.float32)


class OnnxTranscriber:
    """The offline path of `Transcriber`, on onnxruntime."""

    def __init__(self, folder: str | Path, int8: bool = False, threads: int = 1):
        import onnxruntime as ort

        folder = Path(folder)
        meta_path = folder / "model.json"
        if not meta_path.exists():
            raise AsrError(str(folder), "not an exported model folder (no model.json)")
        self.meta = json.loads(meta_path.read_text())
        if self.meta.get("format") != "asr-onnx/1":
            raise AsrError(str(meta_path), f"unknown format {self.meta.get('format')!r}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1

        def session(name: str):
            if not (folder / name).exists():
                raise AsrError(str(folder / name), "missing from the exported folder")
            return ort.InferenceSession(
                str(folder / name), options, providers=["CPUExecutionProvider"]
            )

        self.features = session("features.onnx")
        self.model = session("model.int8.onnx" if int8 else "model.onnx")
        features = self.meta["config"]["features"]
        self.sample_rate = features["sample_rate"]
        self.settings = SimpleNamespace(sample_rate=self.sample_rate)  # what asr eval reads
        self.win_length = round(features["sample_rate"] * features["win_ms"] / 1000)
        hop = round(features["sample_rate"] * features["hop_ms"] / 1000)
        self.frame_seconds = self.meta["subsampling"] * hop / self.sample_rate
        self.mean = np.asarray(self.meta["stats"]["mean"], dtype=np.float32)
        self.std = np.asarray(self.meta["stats"]["std"], dtype=np.float32)
        self.tokenizer = tokenizer_from_dict(self.meta["tokenizer"])

    def log_probs(self, wave: np.ndarray) -> np.ndarray:
        """(N,) float32 -> (T', V) CTC log-probabilities."""
        if len(wave) < self.win_length:
            return np.zeros((0, len(self.tokenizer.symbols)), dtype=np.float32)
        feats = self.features.run(None, {"wave": wave.astype(np.float32)})[0]
        feats = (feats - self.mean) / self.std
        frames = feats.shape[0]
        out_frames = max(0, ((frames - 1) // 2 - 1) // 2)  # the conv front end's valid frames
        if frames < self.meta["min_frames"]:
            feats = np.pad(feats, ((0, self.meta["min_frames"] - frames), (0, 0)))
        log_probs = self.model.run(None, {"feats": feats[None].astype(np.float32)})[0][0]
        return log_probs[:out_frames]

    def transcribe_wave(self, wave) -> Hypothesis:
        """(N,) float audio (numpy, or a CPU tensor from `asr eval`) -> hypothesis."""
        best = self.log_probs(np.asarray(wave, dtype=np.float32)).argmax(axis=-1).tolist()
        emitted = collapse_path(best, self.tokenizer.blank_id)
        return words_from_tokens(emitted, self.tokenizer, self.frame_seconds)

    def transcribe_file(self, path: str | Path) -> Hypothesis:
        return self.transcribe_wave(load_audio_np(path, self.sample_rate))
