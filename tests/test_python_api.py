"""The README's Python API example runs as printed, and `import asr` stays light."""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    found = re.search(r"## Python API\n\n```python\n(.*?)```", text, re.DOTALL)
    assert found, "README has no Python API example"
    return found.group(1)


def test_readme_python_example_transcribes_and_streams_like_the_library():
    from asr import Recognizer, Transcriber, bundled_decoding

    proc = subprocess.run([sys.executable, "-c", readme_example()], cwd=REPO,
                          capture_output=True, text=True, check=False, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    offline = Transcriber.from_file(None, bundled_decoding()).transcribe_file(
        REPO / "asr/samples/sample2.flac"
    )
    assert lines[0] == offline.text
    word_lines = [line.split("\t") for line in lines[1 : 1 + len(offline.words)]]
    assert [w[0] for w in word_lines] == [w.word for w in offline.words]
    assert all(0.0 <= float(w[3]) <= 1.0 for w in word_lines)
    partials = [line[len("partial: ") :] for line in lines if line.startswith("partial:")]
    finals = [line[len("final: ") :] for line in lines if line.startswith("final:")]
    streamed = Recognizer.from_file("streaming").transcribe_file(REPO / "asr/samples/sample1.wav")
    assert " ".join(finals) == streamed.text and finals
    assert len(partials) > 10 and any(partials)


def test_import_asr_loads_no_torch_until_a_name_is_used():
    code = (
        "import sys, asr\n"
        "assert 'torch' not in sys.modules\n"
        "assert callable(asr.OnnxTranscriber) and 'torch' not in sys.modules\n"
        "assert asr.Transcriber.__module__ == 'asr.transcribe'\n"
        "assert set(asr.__all__) == {*asr._API, '__version__'}\n"
        "assert all(getattr(asr, name) for name in asr.__all__)\n"
        "try:\n    asr.nothing\nexcept AttributeError:\n    pass\nelse:\n    raise SystemExit(1)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
