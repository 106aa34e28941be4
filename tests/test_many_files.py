"""Many files in one call: batched where short, alone where long, in order, errors in place."""

import numpy as np
import pytest
import soundfile as sf
from conftest import SAMPLES_DIR, bundled_samples

from asr.beam import bundled_decoding
from asr.errors import AsrError
from asr.many_files import transcribe_files
from asr.transcribe import Transcriber


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The samples, a missing file between them, and a 25 s recording (decoded in pieces)."""
    tmp = tmp_path_factory.mktemp("many")
    samples = [SAMPLES_DIR / s["audio"] for s in bundled_samples()]
    waves = [sf.read(str(p), dtype="float32", always_2d=True) for p in samples]
    pause = np.zeros(8000, np.float32)
    parts = [w.mean(axis=1) for w, rate in waves if rate == 16000]
    long = np.concatenate([piece for _ in range(6) for p in parts for piece in (p, pause)])
    assert len(long) > 25 * 16000
    sf.write(str(tmp / "long.wav"), long, 16000)
    return [samples[0], tmp / "missing.wav", *samples[1:], tmp / "long.wav", samples[0]]


@pytest.mark.parametrize("beam", [False, True])
def test_batched_files_decode_as_one_by_one(files, beam):
    transcriber = Transcriber.from_file(None, bundled_decoding() if beam else None)
    results = list(transcribe_files(transcriber, files, batch_files=2))
    assert [path for path, _ in results] == files
    assert isinstance(results[1][1], AsrError) and "no such file" in str(results[1][1])
    for path, hyp in results:
        if path.name == "missing.wav":
            continue
        alone = transcriber.transcribe_file(path)
        assert hyp.text == alone.text and hyp.text
        assert [(w.word, w.start, w.end) for w in hyp.words] == [
            (w.word, w.start, w.end) for w in alone.words
        ]
        assert [w.confidence for w in hyp.words] == pytest.approx(
            [w.confidence for w in alone.words], abs=2e-3
        )


def test_long_files_get_their_progress_and_short_ones_none(files):
    entered = []

    class Recorder:
        def __init__(self, path):
            self.path = path

        def __enter__(self):
            entered.append(self.path.name)
            return lambda done, total: None

        def __exit__(self, *exc):
            return False

    results = list(transcribe_files(Transcriber.from_file(None), files, Recorder))
    assert entered == ["long.wav"] and len(results) == len(files)
