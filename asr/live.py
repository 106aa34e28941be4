"""Live transcription: an audio source feeds a streaming Recognizer, events come out as words do.

Sources yield float32 mono chunks at the model's rate; one may also have `rest()`, the
audio it still holds once its input has ended. The microphone's PortAudio callback
only copies into a queue (decoding there would make PortAudio drop audio); the caller's
thread decodes. A device that cannot record at the model's rate records at its own and is
resampled on the fly with soxr's streaming resampler, so chunk edges leave no artefacts
(its `rest()` is the resampler's flushed tail).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asr.decoding import Hypothesis
from asr.errors import AsrError, os_reason
from asr.outputs import output_file

STALL_S = 5.0  # a microphone that delivers nothing for this long has stopped


@dataclass
class Event:
    """A partial (the utterance so far, may still change) or final (settled) hypothesis."""

    type: str  # "partial" or "final"
    hypothesis: Hypothesis

    def to_dict(self) -> dict:
        words = self.hypothesis.words
        record = {
            "type": self.type,
            "text": self.hypothesis.text,
            "start": round(words[0].start, 3) if words else None,
            "end": round(words[-1].end, 3) if words else None,
            "words": [w.to_dict() for w in words],
        }
        if self.hypothesis.alternatives:  # finals, where they were asked for
            record["alternatives"] = [a.to_dict() for a in self.hypothesis.alternatives]
        return record


class FileSource:
    """A file played through the live path, at real-time pace times `speed` (0: no waiting)."""

    def __init__(self, path: str | Path, rate: int, chunk_ms: float, speed: float = 1.0,
                 loader: Callable | None = None):  # fmt: skip
        if loader is None:
            from asr.audio import load_audio as loader  # torch's resampler, like transcribe
        if not (math.isfinite(speed) and speed >= 0):
            raise ValueError(f"speed must be a finite number >= 0, not {speed}")
        self.chunk = chunk_samples(rate, chunk_ms)
        self.wave = np.asarray(loader(path, rate), dtype=np.float32)
        self.rate, self.speed, self.overflows = rate, speed, 0

    def __iter__(self) -> Iterator[np.ndarray]:
        start = time.monotonic()
        for offset in range(0, len(self.wave), self.chunk):
            piece = self.wave[offset : offset + self.chunk]
            if self.speed > 0:  # a chunk exists only once its last sample has been "spoken"
                due = start + (offset + len(piece)) / self.rate / self.speed
                time.sleep(max(0.0, due - time.monotonic()))
            yield piece


def chunk_samples(rate: int, chunk_ms: float) -> int:
    """Samples per chunk of `chunk_ms` (at least one); ValueError unless it is finite and > 0."""
    if not (math.isfinite(chunk_ms) and chunk_ms > 0):
        raise ValueError(f"chunk_ms must be a finite number > 0, not {chunk_ms}")
    return max(1, round(rate * chunk_ms / 1000))


def flush(resampler) -> np.ndarray:
    """Once input has ended: what a soxr.ResampleStream still holds (its filter's delay, up to
    ~29 ms from 8 kHz), which only a flush gives up; nothing from None (no resampling). Once."""
    if resampler is None:
        return np.zeros(0, dtype=np.float32)
    return resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)


def _sounddevice():
    try:
        import sounddevice
    except OSError as err:  # the module loads, but libportaudio is missing
        raise AsrError("PortAudio", f"cannot load it ({err}); install libportaudio2") from None
    return sounddevice


def list_devices() -> str:
    return str(_sounddevice().query_devices())


class MicrophoneSource:
    """Records from an input device through sounddevice, counting overflows instead of failing."""

    def __init__(self, device: str | int | None, rate: int, chunk_ms: float):
        chunk_samples(rate, chunk_ms)  # a bad chunk size before the device is touched
        sd = _sounddevice()
        where = f"input device {device if device is not None else '(default)'}"
        try:
            info = sd.query_devices(device, kind="input")
        except (ValueError, sd.PortAudioError) as err:
            raise AsrError(where, f"not available ({err})") from None
        self.device_rate = rate
        try:
            sd.check_input_settings(device, channels=1, dtype="float32", samplerate=rate)
        except (ValueError, sd.PortAudioError):
            self.device_rate = int(info["default_samplerate"])  # record natively, resample here
        self.rate, self.overflows = rate, 0
        self.resampler = None
        if self.device_rate != rate:
            import soxr

            self.resampler = soxr.ResampleStream(self.device_rate, rate, 1, dtype="float32")
        self.queue: queue.Queue[np.ndarray] = queue.Queue()
        try:
            self.stream = sd.InputStream(
                device=device,
                channels=1,
                dtype="float32",
                samplerate=self.device_rate,
                blocksize=chunk_samples(self.device_rate, chunk_ms),
                callback=self._callback,
            )
        except (ValueError, sd.PortAudioError) as err:
            raise AsrError(where, f"cannot open at {self.device_rate} Hz ({err})") from None
        self.where = f"{where} ({info['name']})"

    def _callback(self, indata, frames, when, status) -> None:
        if status.input_overflow:
            self.overflows += 1
        self.queue.put(indata[:, 0].copy())

    def __iter__(self) -> Iterator[np.ndarray]:
        self.stream.start()
        try:
            while True:
                try:
                    block = self.queue.get(timeout=STALL_S)
                except queue.Empty:
                    raise AsrError(self.where, f"no audio for {STALL_S:.0f} s") from None
                if self.resampler is not None:
                    block = self.resampler.resample_chunk(block)
                yield block
        finally:
            self.close()

    def rest(self) -> np.ndarray:
        """Once input has ended: the resampler's last samples. Call it once."""
        return flush(self.resampler)

    def close(self, wait_s: float = 2.0) -> None:
        """Abort, not stop: stopping a capture stream through ALSA's PulseAudio plugin can
        wait forever on a microphone that keeps delivering. And never wait more than
        `wait_s`, so Ctrl-C always ends `asr live` with its final line printed."""

        def shut() -> None:
            self.stream.abort(ignore_errors=True)
            self.stream.close(ignore_errors=True)

        closer = threading.Thread(target=shut, daemon=True)
        closer.start()
        closer.join(wait_s)


class Recorded:
    """A source whose chunks (and rest) are also written to `path`, a WAV whatever its
    suffix (32-bit float: bit-exact, so `asr transcribe` of the recording reproduces what
    live decoding heard). The file is checked and opened here, before any audio."""

    def __init__(self, source, path: str | Path, rate: int):
        import soundfile as sf

        self.source, self.path, self.failed = source, str(path), False
        output_file(path)
        try:
            self.out = sf.SoundFile(
                self.path, "w", samplerate=rate, channels=1, format="WAV", subtype="FLOAT"
            )
        except OSError as err:
            raise AsrError(self.path, os_reason(err)) from None
        except (RuntimeError, ValueError, TypeError) as err:  # LibsndfileError: RuntimeError
            raise AsrError(self.path, f"cannot write it ({err})") from None

    def __iter__(self) -> Iterator[np.ndarray]:
        for chunk in self.source:
            self.write(chunk)
            yield chunk

    def rest(self) -> np.ndarray:
        """The source's rest, written too; the recording is then complete and closed."""
        rest = getattr(self.source, "rest", None)
        tail = rest() if rest is not None else np.zeros(0, dtype=np.float32)
        if not self.failed:  # after a failed write the stream's last words still count
            self.write(tail)
            self.out.close()
        return tail

    def write(self, chunk) -> None:
        try:
            self.out.write(np.asarray(chunk, dtype=np.float32))
            self.out.flush()  # a Ctrl-C or a crash still leaves a playable file
        except (OSError, RuntimeError) as err:  # a full disk, say
            self.failed = True
            raise AsrError(self.path, f"cannot write it ({err})") from None


class Captioner:
    """One stream's events: every final, and the partial whenever its text changes.

    `asr live` and `asr serve` both caption through this, so they emit the same events.
    """

    def __init__(self, recognizer):
        self.recognizer = recognizer
        self.stream = recognizer.create_stream()
        self.shown = ""  # text of the last partial emitted

    def accept(self, samples) -> list[Event]:
        """Decode more audio -> the events it produced."""
        self.stream.accept_waveform(samples)
        return self.decode()

    def finish(self, samples=None) -> list[Event]:
        """No more audio after `samples` (if any): flush the words heard so far as a final."""
        if samples is not None and len(samples):
            self.stream.accept_waveform(samples)
        self.stream.input_finished()
        return self.decode()

    def decode(self) -> list[Event]:
        events = [Event("final", f) for f in self.recognizer.decode(self.stream)]
        if events:
            self.shown = ""
        partial = self.stream.partial
        if partial.text != self.shown:
            events.append(Event("partial", partial))
            self.shown = partial.text
        return events


def run_live(recognizer, source, emit: Callable[[Event], None]) -> None:
    """Decode `source` chunk by chunk, emitting each changed partial and every final.

    Ctrl-C ends the input: the words heard so far are flushed as a final, not lost; so does
    a source's AsrError (a microphone that stopped delivering), raised after the flush.
    """
    captioner = Captioner(recognizer)
    chunks = iter(source)
    failed = None
    try:
        for chunk in chunks:
            for event in captioner.accept(chunk):
                emit(event)
    except KeyboardInterrupt:
        pass
    except AsrError as err:
        failed = err
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:  # release the microphone now, not at garbage collection
            close()
    rest = getattr(source, "rest", None)
    for event in captioner.finish(rest() if rest is not None else None):
        emit(event)
    if failed is not None:
        raise failed


DIM_BELOW = 0.5  # word confidence under which a terminal shows the word dimmed: calibrated
# (asr calibrate), more likely wrong than right; with the bundled GRU and LM on the held-out
# voice, 60% of wrong words and 24% of right ones


@dataclass
class TextPrinter:
    """Human output: the partial rewritten in place on a terminal, each final on its own line;
    on a terminal, words the model is unsure of (confidence under DIM_BELOW) are dimmed."""

    out: object
    interactive: bool

    def __call__(self, event: Event) -> None:
        text = self.render(event.hypothesis) if self.interactive else event.hypothesis.text
        if event.type == "final":
            self.out.write(("\r\033[K" if self.interactive else "") + text + "\n")
        elif self.interactive:
            self.out.write("\r\033[K" + text)
        self.out.flush()

    @staticmethod
    def render(hyp) -> str:
        """The words, unsure ones between ANSI dim and normal-intensity codes."""
        if not hyp.words:
            return hyp.text
        return " ".join(
            f"\033[2m{w.word}\033[22m"
            if w.confidence is not None and w.confidence < DIM_BELOW
            else w.word
            for w in hyp.words
        )
