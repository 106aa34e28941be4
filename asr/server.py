"""`asr serve`: live captions over WebSocket and file transcription over HTTP (Starlette).

  GET  /            a page that streams the browser's microphone and shows live captions
  POST /transcribe  body = an audio file (WAV/FLAC/OGG) -> {"text", "words"}
  WS   /ws          binary frames of 16-bit little-endian mono PCM at the model's rate
                    (or at ?rate=N, resampled here) -> JSON events, the same as
                    `asr live --json`: {"type": "partial"|"final", "text", "start", "end", "words"}

One Recognizer (the model) is shared; each connection gets its own Stream (all its state,
with beam search its own search over the one loaded LM: `BeamDecoder.fork`), and so does
each file upload, so uploads decode side by side. Decoding runs in worker threads so the
event loop keeps serving. Limits: max connections
(extra ones are closed with 1013 "try again later"), max message size (1009), idle timeout
(1000 after that many seconds without audio); a malformed frame gets an error event and
close code 1003. Nothing a client sends can take the server down.
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

from asr.errors import AsrError, os_reason
from asr.live import Captioner, Event
from asr.onnx_runtime import OnnxRecognizer, resample_np

if TYPE_CHECKING:  # an exported model serves without torch
    from asr.streaming import Recognizer

PAGE = Path(__file__).parent / "web" / "index.html"


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
        body = await request.body()
        if not body:
            return JSONResponse({"error": "empty body: send an audio file"}, status_code=400)
        if len(body) > limits.max_upload_bytes:
            return JSONResponse({"error": "file too large"}, status_code=413)
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
        if active["connections"] >= limits.max_connections:
            await ws.close(code=1013, reason="server busy")
            return
        active["connections"] += 1
        await ws.accept()
        try:
            await _serve_stream(ws, recognizer, limits, _client_rate(ws, rate))
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


def _client_rate(ws: WebSocket, default: int) -> int:
    try:
        return int(ws.query_params.get("rate", default))
    except ValueError:
        return default


def _decode_upload(body: bytes, rate: int, recognizer):
    """An uploaded file's bytes -> mono samples at `rate`, with the file reader's checks,
    resampled as `asr transcribe` does with that model (torchaudio, or soxr without torch)."""
    from asr.audio_file import decode_mono

    data, file_rate = decode_mono(io.BytesIO(body), "upload")
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
        except TimeoutError:
            await _finish(ws, captioner, send, 1000, "idle timeout")
            return
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("bytes")
        if data is None:  # a text frame: only {"type": "end"} is understood
            if _is_end(message.get("text")):
                await _finish(ws, captioner, send, 1000, "end of stream")
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
    except (ValueError, AttributeError):
        return False


async def _finish(ws, captioner: Captioner, send, code: int, reason: str) -> None:
    """Flush the last words as a final, then close."""
    await send(await asyncio.to_thread(captioner.finish))
    await ws.close(code=code, reason=reason)


async def _reject(ws: WebSocket, message: str, code: int = 1003) -> None:
    await ws.send_text(json.dumps({"type": "error", "message": message}))
    await ws.close(code=code, reason=message[:120])
