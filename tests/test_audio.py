import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from conftest import SAMPLES_DIR, tone

from asr.audio import load_audio
from asr.errors import AsrError


@pytest.mark.parametrize("fmt, ext", [("WAV", "wav"), ("FLAC", "flac"), ("OGG", "ogg")])
def test_formats_load_as_mono_float32(write_audio, fmt, ext):
    path = write_audio(f"a.{ext}", tone(0.5), 16000, format=fmt)
    wave = load_audio(path)
    assert wave.dtype == torch.float32 and wave.ndim == 1
    assert abs(wave.shape[0] - 8000) <= 1


# 22254 Hz (an old Macintosh rate) and 8001 Hz share almost no factor with 16 kHz: they take
# the soxr path, where torchaudio's kernel would need gigabytes.
@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000, 22254, 8001])
def test_any_rate_is_resampled(write_audio, rate):
    path = write_audio("r.wav", tone(1.0, rate), rate)
    wave = load_audio(path, 16000)
    assert abs(wave.shape[0] - 16000) <= 2
    # A 440 Hz tone stays at 440 Hz: the strongest FFT bin of one second is bin 440.
    assert int(torch.fft.rfft(wave).abs().argmax()) == 440


def test_channels_are_averaged(write_audio):
    left, right = tone(0.25), np.zeros(4000, dtype=np.float32)
    path = write_audio("stereo.wav", np.stack([left, right], axis=1))
    assert torch.allclose(load_audio(path), torch.from_numpy(left) / 2, atol=1e-4)


def test_missing_file(tmp_path):
    with pytest.raises(AsrError, match="no such file"):
        load_audio(tmp_path / "nope.wav")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.touch()
    with pytest.raises(AsrError, match="empty file") as err:
        load_audio(path)
    assert err.value.where == str(path)


def test_zero_length_audio(write_audio):
    path = write_audio("zero.wav", np.zeros(0, dtype=np.float32))
    with pytest.raises(AsrError, match="zero length"):
        load_audio(path)


def test_corrupt_header(write_audio):
    path = write_audio("c.wav", tone(0.5))
    data = bytearray(path.read_bytes())
    data[0:12] = b"JUNKJUNKJUNK"
    path.write_bytes(bytes(data))
    with pytest.raises(AsrError, match="cannot decode audio"):
        load_audio(path)


def test_unsupported_format(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not audio at all")
    with pytest.raises(AsrError, match="cannot decode audio"):
        load_audio(path)


def test_silence_gate_only_takes_digital_silence():
    import torch

    from asr.audio_file import is_silent

    assert is_silent(np.zeros(16000, dtype=np.float32)) and is_silent(np.zeros(0))
    assert is_silent(torch.full((100,), 5e-5))
    quiet_speech = 10 ** (-60 / 20) * np.sin(np.arange(16000) / 5)  # -60 dBFS: still heard
    assert not is_silent(quiet_speech)


def test_dash_reads_audio_from_stdin(monkeypatch):
    import io

    from conftest import SAMPLES_DIR

    from asr.audio_file import read_mono

    flac = (SAMPLES_DIR / "sample2.flac").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(flac)))
    data, rate = read_mono("-")
    expected, expected_rate = read_mono(SAMPLES_DIR / "sample2.flac")
    assert rate == expected_rate and np.array_equal(data, expected)
    for junk, reason in ((b"", "stdin: empty input"), (b"junk", "stdin: cannot decode audio")):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(junk)))
        with pytest.raises(AsrError, match=reason):
            read_mono("-")


def named_pipe(path, data: bytes):
    """A FIFO at `path` that a background writer fills with `data` once a reader opens it."""
    os.mkfifo(path)

    def write():
        with open(path, "wb") as f:
            f.write(data)

    threading.Thread(target=write, daemon=True).start()
    return path


def test_a_named_pipe_is_read_whole_not_refused_as_empty(tmp_path):
    """A pipe's size is 0, and libsndfile cannot seek back in one to read FLAC or Ogg."""
    from asr.audio_file import read_mono

    flac = SAMPLES_DIR / "sample2.flac"
    data, rate = read_mono(named_pipe(tmp_path / "pipe", flac.read_bytes()))
    expected, expected_rate = read_mono(flac)
    assert rate == expected_rate and np.array_equal(data, expected)
    with pytest.raises(AsrError, match="empty input") as err:
        read_mono(named_pipe(tmp_path / "empty", b""))
    assert err.value.where == str(tmp_path / "empty")


def test_cli_transcribes_process_substitution():
    """`asr transcribe <(cat a.flac)`: bash hands over /dev/fd/63, a pipe."""
    script = '"$0" -m cli transcribe <(cat "$1") --no-lm'
    proc = subprocess.run(["bash", "-c", script, sys.executable, str(SAMPLES_DIR / "sample2.flac")],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert (proc.returncode, proc.stderr) == (0, "") and proc.stdout.strip()
