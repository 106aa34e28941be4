"""Batch transcription throughput, and exported ONNX (fp32, int8) against torch fp32.

    python bench/throughput.py [--model M] [--manifest M] [--utts 200] [--workers 2]

1. Many files: one by one vs length-sorted padded batches vs batches in worker processes
   (one torch thread each), as audio-seconds per wall-second and ratios to one by one.
2. Single-thread RTF and file size of the torch model, its ONNX export and the dynamic-int8
   ONNX model, on the same audio, with int8/fp32 ratios (and greedy transcripts compared).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from asr.audio import load_audio
from asr.bundled import DEFAULT_MODEL
from asr.evaluate import score
from asr.manifest import read_manifest
from asr.transcribe import Transcriber

SAMPLES = Path(__file__).resolve().parent.parent / "asr" / "samples" / "samples.jsonl"
_worker: Transcriber | None = None


def _init(model: str) -> None:
    global _worker
    torch.set_num_threads(1)
    _worker = Transcriber.from_file(model)


def _batch(waves: list[torch.Tensor]) -> list[str]:
    return [h.text for h in _worker.transcribe_batch(waves)]


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--manifest", type=Path, default=SAMPLES)
    parser.add_argument("--utts", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    utts = read_manifest(args.manifest)[: args.utts]
    waves = [load_audio(u.audio, 16000) for u in utts]
    refs = [u.text for u in utts]
    audio_s = sum(len(w) for w in waves) / 16000
    t = Transcriber.from_file(args.model)
    print(f"{len(waves)} files, {audio_s:.0f} s of audio from {args.manifest}")

    single, single_s = timed(lambda: [t.transcribe_wave(w).text for w in waves])
    batched, batched_s = timed(lambda: [h.text for h in t.transcribe_batch(waves)])
    chunks = [waves[i :: args.workers * 4] for i in range(args.workers * 4)]
    with ProcessPoolExecutor(args.workers, initializer=_init, initargs=(str(args.model),)) as pool:
        list(pool.map(_batch, [[w] for w in waves[: args.workers]]))  # load the model first
        _, pooled_s = timed(lambda: list(pool.map(_batch, chunks)))
    print(f"{'one by one':28} {audio_s / single_s:8.1f} audio-s/s  1.00x")
    print(f"{'batched, length-sorted':28} {audio_s / batched_s:8.1f} audio-s/s  "
          f"{single_s / batched_s:.2f}x  same text: {batched == single}")  # fmt: skip
    print(f"{f'batched, {args.workers} worker processes':28} {audio_s / pooled_s:8.1f} "
          f"audio-s/s  {single_s / pooled_s:.2f}x")  # fmt: skip

    from asr.export import export
    from asr.onnx_runtime import OnnxTranscriber

    with tempfile.TemporaryDirectory() as tmp:
        export(args.model, tmp, int8=True)
        rows = [("torch fp32", args.model.stat().st_size, t)]
        for name, int8 in (("onnx fp32", False), ("onnx int8", True)):
            size = (Path(tmp) / ("model.int8.onnx" if int8 else "model.onnx")).stat().st_size
            rows.append((name, size, OnnxTranscriber(tmp, int8=int8, threads=1)))
        print(f"\n{'model':12} {'MB':>6} {'RTF':>7} {'WER':>6}  (1 thread)")
        rtfs = {}
        for name, size, runner in rows:
            texts, seconds = timed(lambda r=runner: [r.transcribe_wave(w).text for w in waves])
            rtfs[name] = seconds / audio_s
            print(f"{name:12} {size / 1e6:6.2f} {rtfs[name]:7.4f} {score(refs, texts).wer:6.3f}")
        size = {name: s for name, s, _ in rows}
        print(f"int8 vs onnx fp32: {size['onnx int8'] / size['onnx fp32']:.2f}x the size, "
              f"{rtfs['onnx fp32'] / rtfs['onnx int8']:.2f}x the speed; int8 vs torch fp32: "
              f"{rtfs['torch fp32'] / rtfs['onnx int8']:.2f}x the speed")  # fmt: skip


if __name__ == "__main__":
    main()
