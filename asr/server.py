"""`asr serve`: live captions over WebSocket and file transcription over HTTP (Starlette).

  GET  /            a page that streams the browser's microphone and shows live captions
  POST /transcribe  body = an audio file (WAV/FLAC/OGG) -> {"text", "words"}
  WS   /ws          binary frames of 16-bit little-endian mono PCM at the model's rate
                    (or at ?rate=N Hz, MIN_RATE to MAX_RATE, resampled here) -> JSON events,
                    the same as `asr live --json`:
                    {"type": "partial"|"final", "text", "start", "end", "words"}

One Recognizer (the model) is shared; each connection gets its own Stream (all its state,
with beam search its own search over the one loaded LM: `BeamDecoder.fork`), and so does
each file upload, so uploads decode side by side. Decoding runs in worker threads so the
event loop keeps serving. Limits: max connections
(extra ones are accepted, then closed with 1013 "server busy": try again later), max message
size (1009), idle timeout (1000 after that many seconds without audio), max upload size (413,
read no further than the limit); a malformed frame or a bad ?rate= gets an error event and
close code 1003, an upload at a sample rate out of range a 400. Nothing a client sends can
take the server down.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from asr.audio_file import decode_mono, resample_np
from asr.errors import AsrError, os_reason
from asr.live import Captioner, Event, flush
from asr.onnx_runtime import OnnxRecognizer

if TYPE_CHECKING:  # an exported model serves without torch
    from asr.streaming import Recognizer

PAGE = Path(__file__).parent / "web" / "index.html"

# Client sample rates accepted (?rate=, an upload's header). Speech is recorded at 8 kHz
# (telephone) and up, and audio interfaces record at up to 192 kHz: a rate outside is a
# mistake, and a tiny one is harmful: at 1 Hz each sample would become 16,000 after
# resampling, and one 1 MiB frame 8 billion samples.
MIN_RATE, MAX_RATE = 4000, 192000


@dataclass(frozen=True)
class Limits:
    max_connections: int = 16
    max_message_bytes: int = 1 << 20  # 1 MiB: ~32 s of 16 kHz audio in one frame
    idle_timeout_s: float = 30.0
    max_upload_bytes: int = 50 << 20


def build_app(recognizer: Recognizer | OnnxRecognizer, limits: Limits = Limits()) -> Starlette:
    active = {"connections": 0}
    rate = recognizer.settings.sample_rate

    def transcribe_upload(wave):
        return recognizer.with_own_search().transcribe_wave(wave)

    async def page(request: Request):
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    async def transcribe(request: Request):
        body = await _read_upload(request, limits.max_upload_bytes)
        if body is None:
            return JSONResponse({"error": "file too large"}, status_code=413)
        if not body:
            return JSONResponse({"error": "empty body: send an audio file"}, status_code=400)
        try:
            wave = await asyncio.to_thread(_decode_upload, body, rate, recognizer)
            hyp = await asyncio.to_thread(transcribe_upload, wave)
        except AsrError as err:
            return JSONResponse({"error": err.reason}, status_code=400)
        answer = {"text": hyp.text, "words": [w.to_dict() for w in hyp.words]}
        if hyp.alternatives:  # asr serve --alternatives N
            answer["alternatives"] = [a.to_dict() for a in hyp.alternatives]
        return JSONResponse(answer)

    async def captions(ws: WebSocket):
        # Accept first: a close before accept() is an HTTP 403 from uvicorn, not the 1013
        # that tells a client to come back later. A client gone before the accept never
        # takes a slot.
        try:
            await ws.accept()
        except (WebSocketDisconnect, RuntimeError, OSError):  # Starlette: RuntimeError
            return
        if active["connections"] >= limits.max_connections:
            await ws.close(code=1013, reason="server busy")
            return
        active["connections"] += 1
        try:
            client_rate = _client_rate(ws.query_params.get("rate"), rate)
            if client_rate is None:
                await _reject(ws, f"?rate= must be a whole number of Hz from {MIN_RATE} to "
                              f"{MAX_RATE}, not {ws.query_params.get('rate')!r}")  # fmt: skip
                return
            await _serve_stream(ws, recognizer, limits, client_rate)
        except WebSocketDisconnect:
            pass
        finally:
            active["connections"] -= 1

    return Starlette(routes=[
        Route("/", page), Route("/transcribe", transcribe, methods=["POST"]),
        WebSocketRoute("/ws", captions),
    ])  # fmt: skip


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound before the model loads and before uvicorn starts, so that a
    taken port or an unknown host is one `asr: error:` line at once (uvicorn would log its
    own and exit 3)."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if not 0 <= port <= 65535:
        raise AsrError(where, "a port is a number from 0 to 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        sock.bind((host, port))
        sock.listen()
    except OSError as exc:
        sock.close()
        raise AsrError(where, os_reason(exc)) from None
    return sock


def serve(app: Starlette, sock: socket.socket) -> None:
    """Run `app` on an already bound socket until interrupted."""
    import uvicorn

    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


def _client_rate(value: str | None, default: int) -> int | None:
    """?rate='s value -> the client's sample rate (`default` when not given); None unless it
    is a whole number from MIN_RATE to MAX_RATE."""
    if value is None:
        return default
    number = _whole_number(value)
    return number if number is not None and MIN_RATE <= number <= MAX_RATE else None


def _whole_number(text: str) -> int | None:
    """'16000' -> 16000; None for anything else ('abc', '-1', '1e4', 5,000 digits)."""
    return int(text) if text.isdecimal() and len(text) <= 18 else None


async def _read_upload(request: Request, limit: int) -> bytes | None:
    """The request's body, or None once it is over `limit` bytes: refused on its declared
    Content-Length at once, else reading stops at the limit, never holding more."""
    declared = _whole_number(request.headers.get("content-length", ""))
    if declared is not None and declared > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _decode_upload(body: bytes, rate: int, recognizer):
    """An uploaded file's bytes -> mono samples at `rate`, with the file reader's checks,
    resampled as `asr transcribe` does with that model (torchaudio, or soxr without torch)."""
    data, file_rate = decode_mono(io.BytesIO(body), "upload")
    if not MIN_RATE <= file_rate <= MAX_RATE:
        raise AsrError("upload", f"sample rate {file_rate} Hz: expected {MIN_RATE} to {MAX_RATE}")
    if isinstance(recognizer, OnnxRecognizer):
        return resample_np(data, file_rate, rate)
    import torch

    from asr.audio import resample

    return resample(torch.from_numpy(data), file_rate, rate)


async def _serve_stream(
    ws: WebSocket, recognizer: Recognizer | OnnxRecognizer, limits: Limits, rate: int
):
    captioner = await asyncio.to_thread(Captioner, recognizer)  # forks the loaded search
    resampler = None
    if rate != recognizer.settings.sample_rate:
        import soxr

        resampler = soxr.ResampleStream(rate, recognizer.settings.sample_rate, 1, dtype="float32")

    async def send(events: list[Event]) -> None:
        for event in events:
            await ws.send_text(json.dumps(event.to_dict()))

    while True:
        try:
            message = await asyncio.wait_for(ws.receive(), timeout=limits.idle_timeout_s)
        except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
            await _finish(ws, captioner, send, flush(resampler), 1000, "idle timeout")
            return
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("bytes")
        if data is None:  # a text frame: only {"type": "end"} is understood
            if _is_end(message.get("text")):
                await _finish(ws, captioner, send, flush(resampler), 1000, "end of stream")
                return
            await _reject(ws, 'expected binary PCM frames or {"type": "end"}')
            return
        if len(data) > limits.max_message_bytes:
            await _reject(
                ws, f"frame of {len(data)} bytes is over {limits.max_message_bytes}", 1009
            )
            return
        if len(data) % 2:
            await _reject(ws, "odd frame length: expected 16-bit samples")
            return
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        if resampler is not None:
            samples = resampler.resample_chunk(samples)
        await send(await asyncio.to_thread(captioner.accept, samples))


def _is_end(text: str | None) -> bool:
    try:
        return json.loads(text or "").get("type") == "end"
    except (ValueError, AttributeError, RecursionError):  # '[' * 100000 nests too deep
        return False


async def _finish(ws, captioner: Captioner, send, tail: np.ndarray, code: int, reason: str):
    """Decode `tail`, the last audio, flush the last words as a final, then close."""
    await send(await asyncio.to_thread(captioner.finish, tail))
    await ws.close(code=code, reason=reason)


async def _reject(ws: WebSocket, message: str, code: int = 1003) -> None:
    await ws.send_text(json.dumps({"type": "error", "message": message}))
    await ws.close(code=code, reason=message[:120])
