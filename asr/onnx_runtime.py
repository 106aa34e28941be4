"""Run an exported ONNX folder (see asr.export) with onnxruntime and numpy: no torch import.

For CPUs and edge devices where PyTorch is too big: audio is read with soundfile and
resampled with soxr, features, model and (optionally int8) weights run in onnxruntime, and
decoding (greedy, or beam search with an LM, vocabulary and hotwords) is the same code the
torch path uses.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from asr.audio_file import is_silent, read_mono, resample_np
from asr.beam import BeamOptions, HoldsASearch
from asr.confidence import Calibration, scored_decode
from asr.decoding import Hypothesis, silence_alternatives
from asr.errors import AsrError, os_reason
from asr.manifest import read_text_file
from asr.segment import Progress, transcribe_in_pieces
from asr.stream import DEFAULT_RULES, EndpointRules, StreamDecoder
from asr.text import tokenizer_from_dict

FORMAT = "asr-onnx/1"  # model.json's format tag, written by asr.export


def encoder_frames(feature_frames: int) -> int:
    """Frames out of the conv front end (asr.model.subsampled_lengths, without torch)."""
    return max(0, ((feature_frames - 1) // 2 - 1) // 2)


INT8_SUFFIX = ".int8.onnx"  # model.int8.onnx, step.int8.onnx: written by `asr export --int8`


def export_location(path) -> tuple[Path, bool] | None:
    """An `asr export` folder (fp32), or a model file inside one (`DIR/model.int8.onnx`:
    the int8 weights, as sherpa-onnx users name them) -> (folder, int8); None otherwise."""
    if path is None:
        return None
    path = Path(path)
    if path.is_dir():
        return (path, False) if (path / "model.json").exists() else None
    if path.suffix == ".onnx" and (path.parent / "model.json").exists():
        return path.parent, path.name.endswith(INT8_SUFFIX)
    return None


def is_onnx_export(path) -> bool:
    return export_location(path) is not None


LM_NAME = "lm"  # the LM exported beside the model: lm.arpa.gz, lm.bin (asr.export)


def exported_lm(path) -> Path | None:
    """The word LM an export folder was made with (its searches default to it), if any."""
    location = export_location(path)
    if location is None:
        return None
    meta = read_export_meta(location[0])
    lm = meta.get("lm")
    if lm is not None and not isinstance(lm, str):
        raise AsrError(str(location[0] / "model.json"), f'"lm" is {lm!r}, not a file name')
    return location[0] / lm if lm else None


def read_export_meta(folder: Path) -> dict:
    """An export folder's model.json, checked to be a JSON object of this format holding
    what every reader needs ("config", "tokenizer"); an AsrError naming the file otherwise."""
    path = folder / "model.json"
    if not path.exists():
        raise AsrError(str(folder), "not an exported model folder (no model.json)")
    try:
        meta = json.loads(read_text_file(path))
    except AsrError as err:  # not UTF-8
        raise AsrError(err.where, f"{err.reason}; export the model again") from None
    except OSError as err:
        raise AsrError(str(path), os_reason(err)) from None
    except (ValueError, RecursionError) as err:  # JSONDecodeError; RecursionError: "[[[[..."
        raise AsrError(str(path), f"not valid JSON ({err}); export the model again") from None
    if not isinstance(meta, dict):
        raise AsrError(str(path), "not a JSON object; export the model again")
    if meta.get("format") != FORMAT:
        raise AsrError(str(path), f"unknown format {meta.get('format')!r}")
    missing = [key for key in ("config", "tokenizer") if not isinstance(meta.get(key), dict)]
    if missing:
        raise AsrError(str(path), f"no {' or '.join(missing)} in it; export the model again")
    return meta


@contextmanager
def header_fields(path: Path):
    """A field of model.json missing or of the wrong type, while it is read: an AsrError."""
    try:
        yield
    except (KeyError, TypeError, ValueError, IndexError) as err:
        reason = f"bad export header ({type(err).__name__}: {err}); export the model again"
        raise AsrError(str(path), reason) from None


def load_audio_np(path: str | Path, rate: int) -> np.ndarray:
    """Mono float32 at `rate` (soxr resampling), with the torch path's one-line errors."""
    return resample_np(*read_mono(path), rate)


class OnnxTranscriber(HoldsASearch):
    """The offline path of `Transcriber`, on onnxruntime: greedy, or the same beam search
    (flashlight-text, without torch) with `beam` options and `alternatives` as there."""

    def __init__(
        self,
        folder: str | Path,
        int8: bool = False,
        threads: int = 1,
        beam: BeamOptions | None = None,
        alternatives: int = 0,
    ):
        if alternatives and beam is None:
            raise ValueError("alternatives need a beam search")
        folder, int8_named = export_location(folder) or (Path(folder), False)
        self.folder, self.int8 = folder, int8 or int8_named
        self.meta = read_export_meta(folder)
        self.meta_path = folder / "model.json"
        with header_fields(self.meta_path):
            features = self.meta["config"]["features"]
            self.sample_rate = int(features["sample_rate"])
            self.win_length = round(features["sample_rate"] * features["win_ms"] / 1000)
            self.hop = round(features["sample_rate"] * features["hop_ms"] / 1000)
            self.frame_seconds = self.meta["subsampling"] * self.hop / self.sample_rate
            self.mean = np.asarray(self.meta["stats"]["mean"], dtype=np.float32)
            self.std = np.asarray(self.meta["stats"]["std"], dtype=np.float32)
            self.min_frames = int(self.meta["min_frames"])
            self.tokenizer = tokenizer_from_dict(self.meta["tokenizer"])
            info = self.meta.get("info") or {}  # "info": null reads as none
            self.calibration = Calibration.from_info(info)
        self.settings = SimpleNamespace(sample_rate=self.sample_rate)  # what asr eval reads
        self.features = self._session(folder / "features.onnx", threads)
        self.model = self._session(self._weights("model"), threads)
        self.beam_options = beam.for_model(info) if beam else None
        self.alternatives = alternatives
        self.beam = self.new_beam_decoder()

    def _weights(self, graph: str) -> Path:
        """model.onnx or model.int8.onnx (step.onnx, step.int8.onnx), as the folder was asked."""
        path = self.folder / (graph + (INT8_SUFFIX if self.int8 else ".onnx"))
        if self.int8 and not path.exists():  # before 2026-11-27 --int8 left the step fp32
            raise AsrError(str(path), "missing; export the model again with --int8")
        return path

    @staticmethod
    def _session(path: Path, threads: int):
        import onnxruntime as ort

        if not path.exists():
            raise AsrError(str(path), "missing from the exported folder")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime's errors share no other base
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            reason = (first.rpartition("failed:")[2] or first).strip(" .")  # not "Load ... PATH"
            why = f"cannot load it ({reason}); export the model again"
            raise AsrError(str(path), why) from None

    def log_probs(self, wave: np.ndarray) -> np.ndarray:
        """(N,) float32 -> (T', V) CTC log-probabilities."""
        if len(wave) < self.win_length:
            return np.zeros((0, len(self.tokenizer.symbols)), dtype=np.float32)
        feats = self.features.run(None, {"wave": wave.astype(np.float32)})[0]
        feats = (feats - self.mean) / self.std
        frames = feats.shape[0]
        out_frames = encoder_frames(frames)
        if frames < self.min_frames:
            feats = np.pad(feats, ((0, self.min_frames - frames), (0, 0)))
        log_probs = self.model.run(None, {"feats": feats[None].astype(np.float32)})[0][0]
        return log_probs[:out_frames]

    def transcribe_wave(self, wave, progress: Progress | None = None) -> Hypothesis:
        """(N,) float audio (numpy, or a CPU tensor from `asr eval`) -> hypothesis; long
        recordings are cut at pauses as on the torch path."""
        return transcribe_in_pieces(wave, self.sample_rate, self.transcribe_piece, progress)

    def transcribe_piece(self, wave) -> Hypothesis:
        if is_silent(wave):  # as the torch path does
            return Hypothesis("", alternatives=silence_alternatives() if self.alternatives else [])
        return self.decode_log_probs(self.log_probs(np.asarray(wave, dtype=np.float32)))

    def decode_log_probs(self, log_probs) -> Hypothesis:
        """(T', V) log-probs of one utterance -> hypothesis with word confidences."""
        return scored_decode(log_probs, self.tokenizer, self.frame_seconds, self.beam,
                             self.calibration, self.alternatives)  # fmt: skip

    def logmel(self, wave: np.ndarray) -> np.ndarray:
        """(N,) -> (T, n_mels) log-mel features, before normalization (`asr eval --plot`)."""
        return self.features.run(None, {"wave": np.asarray(wave, dtype=np.float32)})[0]

    def load_wave(self, path: str | Path) -> np.ndarray:
        return load_audio_np(path, self.sample_rate)

    def transcribe_file(self, path: str | Path, progress: Progress | None = None) -> Hypothesis:
        return self.transcribe_wave(self.load_wave(path), progress)


class OnnxRecognizer(OnnxTranscriber, StreamDecoder):
    """Streaming on onnxruntime: the exported front end and encoder step, the same search."""

    def __init__(
        self,
        folder: str | Path,
        rules: EndpointRules = DEFAULT_RULES,
        threads: int = 1,
        int8: bool = False,
        beam: BeamOptions | None = None,
        alternatives: int = 0,
    ):
        super().__init__(folder, int8, threads, beam, alternatives)
        if not self.meta.get("streaming"):
            with header_fields(self.meta_path):
                encoder = self.meta["config"]["model"]["encoder"]
            reason = ("cannot stream: it reads the future; export a causal encoder (gru, mamba)"
                      if encoder == "blstm" else "this export has no streaming step (exports "
                      "before 2026-11-27 had none for mamba); export the model again")  # fmt: skip
            raise AsrError(f"encoder '{encoder}'", reason)
        self.frontend = self._session(self.folder / "frontend.onnx", threads)
        self.encoder_step = self._session(self._weights("step"), threads)
        self.rules = rules
        with header_fields(self.meta_path):
            self.n_mels = int(self.meta["config"]["features"]["n_mels"])
            self.state_shape = tuple(int(n) for n in self.meta["state_shape"])

    def init_state(self) -> tuple:
        """(samples not yet framed, normalized frames the front end has not used, encoder)."""
        return (
            np.zeros(0, dtype=np.float32),
            np.zeros((0, self.n_mels), dtype=np.float32),
            np.zeros(self.state_shape, dtype=np.float32),
        )

    def step(self, samples, state: tuple):
        """Same contract and numbers as `Recognizer.step`, in numpy + onnxruntime."""
        pending, buffered, encoder = state
        wave = np.concatenate([pending, np.asarray(samples, dtype=np.float32)])
        vocab = len(self.tokenizer.symbols)
        if len(wave) < self.win_length:
            return np.zeros((0, vocab), dtype=np.float32), (wave, buffered, encoder)
        frames = 1 + (len(wave) - self.win_length) // self.hop
        feats = self.features.run(None, {"wave": wave[: (frames - 1) * self.hop + self.win_length]})
        feats = (feats[0] - self.mean) / self.std
        pending = wave[frames * self.hop :]
        x = np.concatenate([buffered, feats.astype(np.float32)])
        done = encoder_frames(len(x))
        if done == 0:
            return np.zeros((0, vocab), dtype=np.float32), (pending, x, encoder)
        y = self.frontend.run(None, {"feats": x[None]})[0]
        log_probs, encoder = self.encoder_step.run(None, {"x": y, "state": encoder})
        return log_probs[0], (pending, x[self.meta["subsampling"] * done :], encoder)
