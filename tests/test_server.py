"""`asr serve` through Starlette's test client: events equal `asr live`, limits, bad frames."""

import json
import socket

import numpy as np
import pytest
import soundfile as sf
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from test_runtime_install import CLI, run_runtime_only
from test_streaming import noise, recognizer

from asr.live import FileSource, run_live
from asr.server import Limits, build_app


@pytest.fixture(scope="module")
def rec():
    return recognizer("gru")


def pcm(wave: np.ndarray) -> bytes:
    return (np.clip(wave, -1, 1) * 32767).astype("<i2").tobytes()


def served_and_live_events(rec, client, wave: np.ndarray, tmp_path) -> tuple[list, list]:
    """`wave` sent over /ws in 100 ms frames, and the same 16-bit audio through `asr live`'s
    path -> (the server's events, live's events as dicts)."""
    quantized = np.frombuffer(pcm(wave), dtype="<i2").astype(np.float32) / 32768.0
    path = tmp_path / "q.wav"
    sf.write(str(path), quantized, 16000, subtype="FLOAT")
    expected = []
    run_live(rec, FileSource(path, 16000, chunk_ms=100, speed=0), expected.append)
    events = []
    with client.websocket_connect("/ws") as ws:
        for start in range(0, len(wave), 1600):
            ws.send_bytes(pcm(wave[start : start + 1600]))
        ws.send_text(json.dumps({"type": "end"}))
        while True:
            try:
                events.append(json.loads(ws.receive_text()))
            except WebSocketDisconnect:
                break
    return events, [e.to_dict() for e in expected]


def test_websocket_events_equal_live_events(rec, tmp_path):
    wave = noise(24000, seed=11).numpy()
    events, expected = served_and_live_events(rec, TestClient(build_app(rec)), wave, tmp_path)
    assert events == expected
    assert events[-1]["type"] == "final" and events[-1]["text"]


def test_http_transcribe_matches_offline(rec, tmp_path):
    path = tmp_path / "n.wav"
    sf.write(str(path), noise(20000, seed=3).numpy(), 16000)
    response = TestClient(build_app(rec)).post("/transcribe", content=path.read_bytes())
    assert response.status_code == 200
    assert response.json()["text"] == rec.transcribe_file(path).text
    bad = TestClient(build_app(rec)).post("/transcribe", content=b"not audio at all")
    assert bad.status_code == 400 and "cannot decode" in bad.json()["error"]


def test_bad_frames_get_an_error_and_a_close(rec):
    client = TestClient(build_app(rec, Limits(max_message_bytes=1000)))
    frames = [(b"\x00" * 3, 1003), (b"\x00" * 2000, 1009), ("hello", 1003),
              ("[" * 100_000, 1003)]  # nested past Python's recursion limit  # fmt: skip
    for frame, code in frames:
        with client.websocket_connect("/ws") as ws:
            ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_text(frame)
            assert json.loads(ws.receive_text())["type"] == "error"
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert closed.value.code == code


BAD_RATES = ["0", "-8000", "abc", "1", "3999", "192001", "16000.0", "9" * 5000]


@pytest.mark.parametrize("rate", BAD_RATES, ids=lambda rate: rate[:8])
def test_a_bad_sample_rate_gets_an_error_and_a_close(rec, rate):
    with TestClient(build_app(rec)).websocket_connect(f"/ws?rate={rate}") as ws:
        ws.send_text(json.dumps({"type": "end"}))  # else a server that took it would wait
        event = json.loads(ws.receive_text())
        assert event["type"] == "error" and "4000 to 192000" in event["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 1003


def test_an_upload_at_a_silly_sample_rate_is_refused(rec, tmp_path):
    """A 1 Hz header would make 16,000 samples of each one."""
    path = tmp_path / "one_hz.wav"
    sf.write(str(path), noise(2000, seed=1).numpy(), 1)
    response = TestClient(build_app(rec)).post("/transcribe", content=path.read_bytes())
    assert response.status_code == 400
    assert response.json()["error"] == "sample rate 1 Hz: expected 4000 to 192000"


def test_resampled_audio_is_decoded_to_its_last_sample(rec, monkeypatch):
    """At ?rate=8000 the resampler's tail (its filter's delay) is flushed at the end."""
    import soxr

    from asr.live import Captioner

    heard = []
    accept, finish = Captioner.accept, Captioner.finish

    def counting_accept(self, samples):
        heard.append(len(samples))
        return accept(self, samples)

    def counting_finish(self, samples=None):
        heard.append(0 if samples is None else len(samples))
        return finish(self, samples)

    monkeypatch.setattr(Captioner, "accept", counting_accept)
    monkeypatch.setattr(Captioner, "finish", counting_finish)
    wave = np.frombuffer(pcm(noise(12345, seed=4).numpy()), dtype="<i2")
    with TestClient(build_app(rec)).websocket_connect("/ws?rate=8000") as ws:
        for start in range(0, len(wave), 800):
            ws.send_bytes(wave[start : start + 800].tobytes())
        ws.send_text(json.dumps({"type": "end"}))
        with pytest.raises(WebSocketDisconnect):
            while True:
                ws.receive_text()
    whole = soxr.resample(wave.astype(np.float32) / 32768.0, 8000, 16000)
    assert heard[-1] > 0 and sum(heard) == len(whole) == 2 * len(wave)


def asgi_websocket(app, messages: list[dict]) -> list[dict]:
    """One WebSocket connection at the ASGI level (what uvicorn hands the app): the client's
    `messages` in order -> what the app sent, the exception it raised last if any."""
    import asyncio

    incoming, sent = iter(messages), []

    async def receive():
        return next(incoming, {"type": "websocket.disconnect", "code": 1000})

    async def send(message):
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws", "raw_path": b"/ws", "query_string": b"",
             "headers": [], "scheme": "ws", "server": ("test", 80), "client": ("c", 1),
             "subprotocols": [], "root_path": "", "asgi": {"version": "3.0"}}  # fmt: skip
    try:
        asyncio.run(app(scope, receive, send))
    except Exception as err:  # noqa: BLE001 - what a server would log
        sent.append({"type": "raised", "error": err})
    return sent


def test_a_busy_server_accepts_then_closes_with_1013_and_a_lost_client_frees_its_slot(rec):
    """Closed before accept(), uvicorn would answer HTTP 403, which says nothing of trying
    again later. And a client gone before the accept never holds a slot."""
    app = build_app(rec, Limits(max_connections=1))
    connect = {"type": "websocket.connect"}
    end = {"type": "websocket.receive", "text": '{"type": "end"}'}
    gone = {"type": "websocket.disconnect", "code": 1006}
    for _ in range(3):  # each client gone before its accept: nothing to answer
        assert asgi_websocket(app, [gone]) == []
    served = asgi_websocket(app, [connect, end])
    assert [m["type"] for m in served] == ["websocket.accept", "websocket.close"]
    assert served[-1]["code"] == 1000

    with TestClient(app).websocket_connect("/ws"):  # holds the one slot
        busy = asgi_websocket(app, [connect])
    assert [m["type"] for m in busy] == ["websocket.accept", "websocket.close"]
    assert (busy[-1]["code"], busy[-1]["reason"]) == (1013, "server busy")


def piecewise_upload(app, headers: list) -> tuple[int, int]:
    """POST /transcribe of 200 kB in 1 kB pieces, at the ASGI level -> (status, bytes read)."""
    import asyncio

    read, sent = [], []

    async def receive():  # 200 kB in all: a server that reads it all still ends
        read.append(1000)
        return {"type": "http.request", "body": b"\0" * 1000, "more_body": len(read) < 200}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/transcribe", "raw_path": b"/transcribe",
             "query_string": b"", "headers": headers, "scheme": "http", "root_path": "",
             "server": ("test", 80), "client": ("c", 1), "http_version": "1.1",
             "asgi": {"version": "3.0"}}  # fmt: skip
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    return sent[0]["status"], sum(read)


def test_an_upload_over_the_limit_is_refused_before_it_is_read(rec):
    limit = 10_000
    app = build_app(rec, Limits(max_upload_bytes=limit))
    response = TestClient(app).post("/transcribe", content=b"\0" * (limit + 1))
    assert response.status_code == 413
    assert piecewise_upload(app, [(b"content-length", b"50000000")]) == (413, 0)  # declared
    assert piecewise_upload(app, []) == (413, limit + 1000)  # chunked: read up to the limit


def test_connection_limit_and_idle_timeout(rec):
    client = TestClient(build_app(rec, Limits(max_connections=1, idle_timeout_s=0.3)))
    with client.websocket_connect("/ws") as first:
        with pytest.raises(WebSocketDisconnect) as busy, client.websocket_connect("/ws") as ws:
            ws.receive_text()
        assert busy.value.code == 1013
        first.send_bytes(pcm(noise(8000, seed=1).numpy()))
        with pytest.raises(WebSocketDisconnect) as idle:
            while True:
                first.receive_text()
        assert idle.value.code == 1000


def test_page_is_served(rec):
    page = TestClient(build_app(rec)).get("/")
    assert page.status_code == 200 and "new WebSocket" in page.text


def test_beam_search_serves_streams_and_concurrent_uploads(tmp_path):
    """With the bundled LM (`asr serve`'s default) every connection has its own search, and
    uploads decoded at the same time still get the answers they get one by one."""
    from concurrent.futures import ThreadPoolExecutor

    from conftest import SAMPLES_DIR, bundled_samples

    from asr.audio import load_audio
    from asr.beam import bundled_decoding
    from asr.bundled import STREAMING_MODEL
    from asr.streaming import Recognizer

    beam_rec = Recognizer.from_file(STREAMING_MODEL, beam=bundled_decoding())
    paths = [SAMPLES_DIR / s["audio"] for s in bundled_samples()]
    expected = [beam_rec.transcribe_file(p).text for p in paths]
    client = TestClient(build_app(beam_rec))

    def upload(path):
        return client.post("/transcribe", content=path.read_bytes()).json()["text"]

    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(upload, paths * 2)) == expected * 2
    wave = load_audio(paths[1], 16000).numpy()
    events, live_events = served_and_live_events(beam_rec, client, wave, tmp_path)
    assert events == live_events
    finals = " ".join(e["text"] for e in events if e["type"] == "final")
    assert finals == expected[1] == bundled_samples()[1]["text"]


def test_served_finals_and_uploads_list_alternatives_as_live_does(rec, tmp_path):
    """`asr serve --alternatives N`: each final event lists them (the same events as
    `asr live --json --alternatives N`), and so does an upload's answer."""
    from asr.beam import BeamOptions
    from asr.streaming import Recognizer

    listing = Recognizer(rec.loaded, rec.rules, BeamOptions(beam=16), alternatives=4)
    client = TestClient(build_app(listing))
    events, expected = served_and_live_events(
        listing, client, noise(24000, seed=9).numpy(), tmp_path
    )
    assert events == expected
    finals = [e for e in events if e["type"] == "final"]
    assert finals and all(e["alternatives"][0]["text"] == e["text"] for e in finals)
    assert all("alternatives" not in e for e in events if e["type"] == "partial")
    path = tmp_path / "n.wav"
    sf.write(str(path), noise(20000, seed=3).numpy(), 16000)
    answer = client.post("/transcribe", content=path.read_bytes()).json()
    offline = listing.transcribe_file(path)
    assert [a["text"] for a in answer["alternatives"]] == [a.text for a in offline.alternatives]


def test_a_taken_port_or_unknown_host_is_one_line_before_the_model_loads(tmp_path):
    from typer.testing import CliRunner

    from cli import app

    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    missing_model = tmp_path / "none.safetensors"  # never read: the bind fails first
    runner = CliRunner()
    try:
        for args, message in [
            (["--port", str(port)], f"asr: error: 127.0.0.1:{port}: address already in use"),
            (["--port", "70000"], "asr: error: 127.0.0.1:70000: a port is a number from 0"),
            (["--host", "no-such-host.invalid"], "asr: error: no-such-host.invalid:8000: "),
        ]:
            result = runner.invoke(app, ["serve", "--model", str(missing_model), *args])
            assert result.exit_code == 1, result.output
            assert result.output.startswith(message) and result.output.count("\n") == 1
    finally:
        taken.close()


@pytest.fixture(scope="module")
def onnx_rec(tmp_path_factory):
    """A random tiny GRU, exported: `asr serve --model DIR` serves it on onnxruntime."""
    import torch
    from test_checkpoint import tiny
    from test_streaming import TOK

    from asr.checkpoint import save_model
    from asr.export import export
    from asr.features import FeatureStats
    from asr.onnx_runtime import OnnxRecognizer
    from asr.stream import EndpointRules

    pytest.importorskip("onnxruntime")
    tmp = tmp_path_factory.mktemp("onnx_serve")
    torch.manual_seed(0)
    model, cfg = tiny("gru")
    with torch.no_grad():
        model.head.weight.mul_(10)  # a best path that changes often
    save_model(tmp / "m.safetensors", model, cfg, TOK, FeatureStats.identity(80))
    export(tmp / "m.safetensors", tmp / "onnx")
    return OnnxRecognizer(tmp / "onnx", EndpointRules(min_trailing_blank_s=0.8))


def test_an_exported_model_serves_what_it_streams_live(onnx_rec, tmp_path):
    wave = noise(24000, seed=11).numpy()
    client = TestClient(build_app(onnx_rec))
    events, expected = served_and_live_events(onnx_rec, client, wave, tmp_path)
    assert events == expected
    assert events[-1]["type"] == "final" and events[-1]["text"]
    path = tmp_path / "n.flac"
    sf.write(str(path), noise(30000, seed=3).numpy(), 22050)  # resampled with soxr, as
    response = client.post("/transcribe", content=path.read_bytes())  # asr transcribe does
    assert response.status_code == 200
    assert response.json()["text"] == onnx_rec.transcribe_file(path).text


def test_asr_serve_of_an_export_folder_runs_in_a_runtime_install(onnx_rec):
    """The server is built and handed to uvicorn with none of the full install's modules
    (torch, ...) importable, as after `pip install -r requirements-runtime.txt`."""
    code = (
        "import asr.server\n"
        "def ready(app, sock):\n"
        "    print('serving', type(app).__name__)\n"
        "asr.server.serve = ready\n"
    )
    args = ["serve", "--model", str(onnx_rec.folder), "--port", "0"]
    proc = run_runtime_only(code + CLI, *args, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "serving Starlette"
