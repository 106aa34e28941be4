"""asr: a small streaming recurrent speech recognizer (log-mel -> conv -> RNN -> CTC).

The Python API (README, "Python API"): `Transcriber` for whole recordings, `Recognizer` for
streams, `bundled_decoding()` for beam search with the bundled LM, `OnnxTranscriber` for an
`asr export` folder without torch. Imported on first use, so `import asr` stays light and the
ONNX path never loads torch.
"""

from importlib import import_module

__version__ = "0.1.0"

_API = {
    "Transcriber": "asr.transcribe",
    "Recognizer": "asr.streaming",
    "EndpointRules": "asr.stream",
    "BeamOptions": "asr.beam",
    "bundled_decoding": "asr.beam",
    "load_model": "asr.checkpoint",
    "load_audio": "asr.audio",
    "OnnxTranscriber": "asr.onnx_runtime",
    "OnnxRecognizer": "asr.onnx_runtime",
    "AsrError": "asr.errors",
    "VTLN_WARPS": "asr.features",
    "AdaptOptions": "asr.adapt",
}
__all__ = [  # noqa: RUF022 (in _API's order)
    "Transcriber", "Recognizer", "EndpointRules", "BeamOptions", "bundled_decoding",
    "load_model", "load_audio", "OnnxTranscriber", "OnnxRecognizer", "AsrError", "VTLN_WARPS",
    "AdaptOptions", "__version__",
]  # fmt: skip


def __getattr__(name: str):
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'asr' has no attribute {name!r}")
