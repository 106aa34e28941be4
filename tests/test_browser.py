"""The caption page in headless Chromium: a fake microphone plays a bundled sample, the page
streams it to `asr serve`, and the captions must show what `asr transcribe` hears in it."""

import difflib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asr.bundled import STREAMING_MODEL
from asr.streaming import Recognizer

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "asr" / "samples" / "sample1.wav"
MODEL = Path(os.environ.get("ASR_TEST_STREAMING_MODEL", STREAMING_MODEL))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(port), "--model", str(MODEL),
         "--endpoint-ms", "500"],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"server exited: {proc.stderr.read()}")
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}/"
    proc.terminate()
    proc.wait(timeout=10)


def chrome():
    webdriver = pytest.importorskip("selenium.webdriver")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (binary and driver):
        pytest.skip("Chromium and chromedriver are not installed (Debian chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-audio-capture={SAMPLE}",
                 "--autoplay-policy=no-user-gesture-required"]:  # fmt: skip
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=driver)
    return webdriver.Chrome(options=options, service=service)


def test_live_captions_in_headless_chromium(server):
    expected = Recognizer.from_file(MODEL).transcribe_file(SAMPLE).text.split()
    assert expected
    browser = chrome()
    try:
        browser.get(server)
        browser.find_element("id", "start").click()
        deadline, heard = time.monotonic() + 40, []
        while time.monotonic() < deadline:
            heard = browser.find_element("id", "finals").text.split()
            if len(heard) >= 2 * len(expected):  # the fake microphone loops the file
                break
            time.sleep(0.5)
        status = browser.find_element("id", "status").text
    finally:
        browser.quit()
    assert status.startswith("listening"), status
    # The browser resamples to 48 kHz and the server back, so a letter may differ: ask that
    # 80% of the transcript's characters show up, in order, in the captions.
    want, got = " ".join(expected), " ".join(heard)
    blocks = difflib.SequenceMatcher(None, want, got, autojunk=False).get_matching_blocks()
    assert sum(b.size for b in blocks) >= 0.8 * len(want), f"captions {got!r}, expected {want!r}"
