"""`asr live` through files and fake sources: the events, the flush on Ctrl-C, the errors."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
import torch
from test_streaming import TOK, noise, recognizer

from asr.checkpoint import save_model
from asr.live import Event, FileSource, run_live


@pytest.fixture(scope="module")
def rec():
    return recognizer()


@pytest.fixture
def noise_file(tmp_path):
    path = tmp_path / "noise.wav"
    sf.write(str(path), noise(24000, seed=3).numpy(), 16000)
    return path


def collect(rec, source) -> list[Event]:
    events = []
    run_live(rec, source, events.append)
    return events


def test_file_through_live_path_gives_offline_transcript(rec, noise_file):
    events = collect(rec, FileSource(noise_file, 16000, chunk_ms=160, speed=0))
    finals = [e for e in events if e.type == "final"]
    offline = rec.transcribe_file(noise_file)
    assert offline.text  # the scaled random model babbles on noise: something to compare
    assert len(finals) == 1 and finals[0].hypothesis == offline
    partials = [e.hypothesis.text for e in events if e.type == "partial"]
    assert partials and all(offline.text.startswith(p) for p in partials)
    assert len(set(partials)) == len(partials)  # only changes are emitted


def test_ctrl_c_flushes_the_words_heard_so_far(rec):
    wave = noise(16000, seed=5).numpy()

    def interrupted():
        yield from np.split(wave, 4)
        raise KeyboardInterrupt

    events = collect(rec, interrupted())
    assert events[-1].type == "final"
    assert events[-1].hypothesis == rec.transcribe_wave(torch.from_numpy(wave))


def test_file_source_keeps_real_time_pace(noise_file):
    start = time.monotonic()
    chunks = list(FileSource(noise_file, 16000, chunk_ms=250, speed=5.0))
    elapsed = time.monotonic() - start
    assert sum(len(c) for c in chunks) == 24000
    assert elapsed >= 1.5 / 5 * 0.9  # 1.5 s of audio at 5x takes at least ~0.3 s


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "cli", "live", *args], capture_output=True, text=True, check=False
    )


def test_cli_json_events(rec, noise_file, tmp_path):
    model = tmp_path / "gru.safetensors"
    loaded = rec.loaded
    save_model(model, loaded.model, loaded.config, TOK, loaded.stats)
    proc = run_cli("--model", str(model), "--input", str(noise_file), "--speed", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {e["type"] for e in events} == {"partial", "final"}
    final = events[-1]
    assert final["type"] == "final"
    assert final["text"] == rec.transcribe_file(noise_file).text
    assert set(final) == {"type", "text", "start", "end", "words"}
    assert final["start"] == final["words"][0]["start"] and final["end"] >= final["start"]


def test_cli_refuses_an_offline_model(tmp_path, noise_file):
    from test_checkpoint import tiny

    from asr.features import FeatureStats

    model, cfg = tiny("blstm")
    save_model(tmp_path / "b.safetensors", model, cfg, TOK, FeatureStats.identity(80))
    proc = run_cli("--model", str(tmp_path / "b.safetensors"), "--input", str(noise_file))
    assert proc.returncode == 1
    assert proc.stderr.startswith("asr: error: encoder 'blstm': cannot stream")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_missing_input_file(rec, tmp_path):
    model = tmp_path / "gru.safetensors"
    save_model(model, rec.loaded.model, rec.loaded.config, TOK, rec.loaded.stats)
    proc = run_cli("--model", str(model), "--input", str(tmp_path / "nope.wav"))
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith(f"asr: error: {tmp_path / 'nope.wav'}: ")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_unknown_device_is_one_line(rec, tmp_path):
    pytest.importorskip("sounddevice", exc_type=OSError)
    model = tmp_path / "gru.safetensors"
    save_model(model, rec.loaded.model, rec.loaded.config, TOK, rec.loaded.stats)
    proc = run_cli("--model", str(model), "--device", "no-such-device-xyz")
    assert proc.returncode == 1
    assert proc.stderr.startswith("asr: error: input device no-such-device-xyz: ")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_closing_the_microphone_never_hangs_the_exit():
    """A capture stream that never finishes aborting (seen through ALSA's PulseAudio plugin)
    must not keep `asr live` from printing its final line and exiting."""
    import threading
    import time

    from asr.live import MicrophoneSource

    class StuckStream:
        def __init__(self):
            self.calls, self.release = [], threading.Event()

        def abort(self, ignore_errors=True):
            self.calls.append("abort")
            self.release.wait(30)

        def close(self, ignore_errors=True):
            self.calls.append("close")

    source = object.__new__(MicrophoneSource)
    source.stream = StuckStream()
    start = time.monotonic()
    source.close(wait_s=0.2)
    assert time.monotonic() - start < 2.0
    assert source.stream.calls == ["abort"]  # aborted (never a draining stop), still stuck
    source.stream.release.set()


def test_cli_bundled_model_streams_with_the_bundled_lm_unless_no_lm():
    from conftest import SAMPLES_DIR

    from asr.beam import bundled_decoding
    from asr.streaming import Recognizer

    sample = SAMPLES_DIR / "sample1.wav"
    texts = {}
    for flags in ((), ("--no-lm",)):
        proc = run_cli("--input", str(sample), "--speed", "0", "--json", *flags)
        assert proc.returncode == 0, proc.stderr
        finals = [e for e in map(json.loads, proc.stdout.splitlines()) if e["type"] == "final"]
        texts[flags] = " ".join(e["text"] for e in finals if e["text"])
    assert (
        texts[()]
        == Recognizer.from_file("streaming", beam=bundled_decoding()).transcribe_file(sample).text
    )
    assert texts[("--no-lm",)] == Recognizer.from_file("streaming").transcribe_file(sample).text
    assert texts[()] != texts[("--no-lm",)]


def test_a_terminal_shows_unsure_words_dimmed_and_a_pipe_gets_plain_text():
    import io

    from asr.decoding import Hypothesis, Word
    from asr.live import DIM_BELOW, TextPrinter

    words = [Word("sure", 0.0, 0.2, 0.9), Word("maybe", 0.3, 0.5, DIM_BELOW - 0.01)]
    final = Event("final", Hypothesis("sure maybe", words))
    tty, pipe = io.StringIO(), io.StringIO()
    TextPrinter(tty, True)(final)
    TextPrinter(pipe, False)(final)
    assert tty.getvalue() == "\r\033[Ksure \033[2mmaybe\033[22m\n"
    assert pipe.getvalue() == "sure maybe\n"


def test_a_stalled_microphone_still_flushes_the_words_heard_so_far(rec):
    """The source's "no audio for 5 s" error comes after the last words' final, not instead."""
    from asr.errors import AsrError

    wave = noise(16000, seed=5).numpy()

    def stalling():
        yield from np.split(wave, 4)
        raise AsrError("input device 1 (mic)", "no audio for 5 s")

    events = []
    with pytest.raises(AsrError, match="no audio for 5 s"):
        run_live(rec, stalling(), events.append)
    assert events[-1].type == "final"
    assert events[-1].hypothesis == rec.transcribe_wave(torch.from_numpy(wave))


class FakeInputStream:
    def start(self):
        pass

    def abort(self, ignore_errors=True):
        pass

    def close(self, ignore_errors=True):
        pass


def test_a_resampled_microphone_is_decoded_and_recorded_to_its_last_sample(
    rec, tmp_path, monkeypatch
):
    """A 48 kHz device: the resampler's tail is flushed into the decoding and the recording
    (a WAV whatever the name), and the recording transcribes to what was heard live."""
    import queue

    import soxr

    from asr import live
    from asr.errors import AsrError

    monkeypatch.setattr(live, "STALL_S", 0.05)  # the fake device stops after its blocks
    mic = object.__new__(live.MicrophoneSource)
    mic.stream, mic.queue, mic.where = FakeInputStream(), queue.Queue(), "input device fake"
    mic.resampler = soxr.ResampleStream(48000, 16000, 1, dtype="float32")
    device_audio = noise(48000, seed=6).numpy()
    for block in np.split(device_audio, 10):
        mic.queue.put(block)
    path = tmp_path / "new" / "heard.rec"  # a missing folder, a suffix soundfile cannot guess
    events = []
    with pytest.raises(AsrError, match="no audio"):
        run_live(rec, live.Recorded(mic, path, 16000), events.append)
    info = sf.info(str(path))
    assert info.format == "WAV" and info.subtype == "FLOAT"
    assert info.frames == len(soxr.resample(device_audio, 48000, 16000)) == 16000
    heard = sf.read(str(path), dtype="float32")[0]
    assert events[-1].type == "final"
    assert events[-1].hypothesis == rec.transcribe_wave(torch.from_numpy(heard))


def test_cli_refuses_bad_numbers_and_record_paths_in_one_line(tmp_path):
    from test_cli import run

    (tmp_path / "file").write_text("")
    for args, message in [
        (["--chunk-ms", "inf"], "--chunk-ms: must be a finite number, not inf"),
        (["--speed", "-1"], "--speed: must be 0 or more, not -1"),
        (["--speed", "nan"], "--speed: must be 0 or more, not nan"),
        (["--record", str(tmp_path)], f"{tmp_path}: is a folder"),
        (["--record", str(tmp_path / "file" / "r.wav")], f"{tmp_path / 'file' / 'r.wav'}: "),
    ]:
        result = run("live", "--model", tmp_path / "never-read.safetensors", *args)
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(f"asr: error: {message}"), result.stderr
        assert result.stderr.count("\n") == 1


def test_file_source_refuses_chunks_it_cannot_count(noise_file):
    for chunk_ms in (0, -5, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="chunk_ms"):
            FileSource(noise_file, 16000, chunk_ms=chunk_ms, speed=0)
    with pytest.raises(ValueError, match="speed"):
        FileSource(noise_file, 16000, chunk_ms=100, speed=-1)
