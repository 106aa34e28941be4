"""Load test of `asr serve`: N concurrent real-time streams, growing N until latency breaks.

    python bench/serve.py [--model M | --model EXPORT_DIR] [--audio FILE] [--clients 1 2 4 8 12 16 24]
                          [--budget-ms 500] [--threads 1] [--lm FILE]

Starts the server in a subprocess, then for each N runs N WebSocket clients that each send
the audio in 100 ms frames at real-time pace (staggered starts). Per word of the final
transcript, partial latency = when the word first showed in its final spelling minus when its
end (the model's own word end time) was spoken. Prints, per N: mean and 95th-percentile
latency, whether every client's joined finals equal the offline transcript, and the server's
resident memory per connection (over its memory before the first client, printed first); then the largest N with p95 under the budget. With --lm the
server (and the offline reference) decode by beam search with that LM at the bundled weights.
An `asr export` folder as --model is served on onnxruntime, with the LM exported with it if
there is one (as `asr serve` does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FRAME_S = 0.1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(port: int, server: subprocess.Popen, seconds: float = 120) -> None:
    """Until the page answers: the port is bound before the model loads, so a connection
    alone would be accepted while the server is still loading (and its memory growing)."""
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer within {seconds:g} s")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def client(url: str, pcm: bytes, delay: float):
    import websockets

    await asyncio.sleep(delay)
    frame = int(16000 * FRAME_S) * 2
    events, first_seen = [], {}
    async with websockets.connect(url, max_size=None) as ws:
        start = time.monotonic()

        async def receive():
            async for message in ws:
                event = json.loads(message)
                events.append(event)
                now = time.monotonic()
                for i, word in enumerate(event.get("words", [])):
                    first_seen.setdefault((word["word"], round(word["end"], 2), i), now)

        reader = asyncio.create_task(receive())
        for k, offset in enumerate(range(0, len(pcm), frame)):
            await asyncio.sleep(max(0.0, start + (k + 1) * FRAME_S - time.monotonic()))
            await ws.send(pcm[offset : offset + frame])
        await ws.send(json.dumps({"type": "end"}))
        await reader
    finals = [e for e in events if e["type"] == "final"]
    latencies = []
    for final in finals:
        for i, word in enumerate(final["words"]):
            # the same word may sit at another index in a partial; take the earliest sighting
            seen = [t for (w, end, _), t in first_seen.items()
                    if w == word["word"] and end == round(word["end"], 2)]  # fmt: skip
            if seen:
                latencies.append(min(seen) - (start + word["end"]))
    return " ".join(f["text"] for f in finals if f["text"]), latencies


async def run_clients(url: str, pcm: bytes, n: int):
    stagger = FRAME_S / max(n, 1)
    return await asyncio.gather(*(client(url, pcm, i * stagger) for i in range(n)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--audio", type=Path, default=ROOT / "asr" / "samples" / "sample1.wav")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4, 8, 12, 16, 24])
    parser.add_argument("--budget-ms", type=float, default=500)
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the server")
    parser.add_argument("--lm", type=Path, help="beam search with this LM (default: greedy)")
    args = parser.parse_args()

    from asr.audio import load_audio
    from asr.beam import BeamOptions
    from asr.bundled import STREAMING_MODEL
    from asr.onnx_runtime import OnnxRecognizer, exported_lm, is_onnx_export
    from asr.streaming import Recognizer

    model = args.model or STREAMING_MODEL
    wave = load_audio(args.audio, 16000).numpy()
    wave = np.concatenate([wave, np.zeros(16000, dtype=np.float32)])  # room for the endpoint
    pcm = (np.clip(wave, -1, 1) * 32767).astype("<i2").tobytes()
    quantized = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    import torch

    lm = args.lm or exported_lm(model)  # an export made with an LM: the server's default too
    beam = BeamOptions(lm=lm) if lm else None
    if is_onnx_export(model):  # `asr serve --model DIR`: onnxruntime, no torch in the server
        offline = OnnxRecognizer(model, beam=beam).transcribe_wave(quantized).text
    else:
        reference = Recognizer.from_file(model, beam=beam)
        offline = reference.transcribe_wave(torch.from_numpy(quantized)).text
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    server = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(port), "--model", str(model),
         "--max-connections", str(max(args.clients) + 1),
         *(["--lm", str(args.lm)] if args.lm else [])],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        wait_until_serving(port, server)
        idle_mib = rss_mib(server.pid)
        url = f"ws://127.0.0.1:{port}/ws"
        print(f"audio {len(wave) / 16000:.1f} s ({args.audio.name}), offline: {offline!r}; "
              f"server resident memory before the first client {idle_mib:.0f} MiB")  # fmt: skip
        print(f"{'clients':>7} {'mean ms':>8} {'p95 ms':>8} {'all = offline':>13} {'MiB/conn':>9}")
        best = 0
        for n in args.clients:
            results = asyncio.run(run_clients(url, pcm, n))
            lat = sorted(x for _, lats in results for x in lats) or [float("inf")]
            p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
            same = all(text == offline for text, _ in results)
            per_conn = max(0.0, rss_mib(server.pid) - idle_mib) / n
            print(f"{n:7d} {1000 * statistics.fmean(lat):8.0f} {1000 * p95:8.0f} "
                  f"{same!s:>13} {per_conn:9.1f}")  # fmt: skip
            if p95 * 1000 <= args.budget_ms and same:
                best = n
            else:
                break
        print(f"largest N with p95 partial latency under {args.budget_ms:g} ms and every "
              f"transcript equal to offline: {best}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
