"""The real microphone path: a private PulseAudio daemon's null-sink monitor is the default
input, a sample is played into the sink, and `asr live` (sounddevice, no mocking) must print
what `asr transcribe` prints for the same file."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asr.audio import load_audio
from asr.bundled import STREAMING_MODEL
from asr.streaming import Recognizer

SAMPLE = STREAMING_MODEL.parent.parent / "samples" / "sample1.wav"  # 16 kHz: no resampling
MODEL = Path(os.environ.get("ASR_TEST_STREAMING_MODEL", STREAMING_MODEL))


@pytest.fixture
def pulse(tmp_path):
    """Environment of a private PulseAudio server whose default source hears its null sink."""
    if not (shutil.which("pulseaudio") and shutil.which("pactl") and shutil.which("paplay")):
        pytest.skip("PulseAudio cannot start: pulseaudio/pulseaudio-utils are not installed")
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(run), "HOME": str(tmp_path)}
    env.pop("PULSE_SERVER", None)
    sink = "module-null-sink sink_name=virt rate=16000 channels=1"
    start = subprocess.run(
        ["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "-n",
         "--load=module-native-protocol-unix", f"--load={sink}"],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if start.returncode != 0:
        reason = (start.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"PulseAudio cannot start: {reason}")
    try:
        subprocess.run(["pactl", "set-default-source", "virt.monitor"], env=env, check=True,
                       timeout=10)  # fmt: skip
        yield env
    finally:
        subprocess.run(["pulseaudio", "--kill"], env=env, timeout=10, check=False)


def test_live_microphone_hears_what_transcribe_reads(pulse, tmp_path):
    recording = tmp_path / "heard.wav"
    # A suite started in the background (`nohup`, `&`) has SIGINT ignored, and `asr live`
    # would inherit that, as Unix intends for background jobs, so the test's Ctrl-C would
    # never reach it. With a handler here instead, the child starts with the default.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        live = subprocess.Popen(
            [sys.executable, "-m", "cli", "live", "--json", "--chunk-ms", "100", "--model",
             str(MODEL), "--record", str(recording)],
            env=pulse, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        banner = live.stderr.readline()
        assert banner.startswith("listening on "), banner + live.stderr.read()
        deadline = time.monotonic() + 20  # play once the microphone is really recording
        while time.monotonic() < deadline and not (
            recording.exists() and recording.stat().st_size > 16000
        ):
            time.sleep(0.05)
        subprocess.run(["paplay", str(SAMPLE)], env=pulse, check=True, timeout=30)
        time.sleep(1.5)  # let the endpoint pass and the last chunk arrive
        live.send_signal(signal.SIGINT)
        out, err = live.communicate(timeout=30)
    finally:
        live.kill()
    assert live.returncode == 0, err
    # The sample really went through PulseAudio into the microphone input ...
    heard, rate = sf.read(str(recording), dtype="float32")
    sample = load_audio(SAMPLE, rate).numpy()
    assert rate == 16000 and len(heard) > len(sample)
    corr = np.correlate(heard, sample, mode="valid")
    assert corr.max() / (np.linalg.norm(sample) ** 2) > 0.9
    # ... and live decoding printed exactly what `asr transcribe` reads in that recording.
    finals = [e for e in map(json.loads, out.splitlines()) if e["type"] == "final"]
    expected = Recognizer.from_file(MODEL).transcribe_file(recording).text
    assert expected
    assert " ".join(e["text"] for e in finals if e["text"]) == expected
