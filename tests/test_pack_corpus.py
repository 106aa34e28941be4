"""pack_corpus.py / unpack_corpus.py: a corpus travels compressed and comes back as WAV
manifests that train like the originals."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import env_with_this_python

from asr.manifest import read_manifest

LOCAL = Path(__file__).parents[1] / "recipes/synth/local"


@pytest.mark.skipif(shutil.which("opusenc") is None, reason="opus-tools is not installed")
def test_a_packed_corpus_unpacks_to_the_same_utterances(tmp_path):
    rng = np.random.default_rng(0)
    src = tmp_path / "src"
    src.mkdir()
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000).astype(np.float32)
    sf.write(str(src / "synth.wav"), tone, 16000)  # -> Opus
    sf.write(str(src / "digit.wav"), rng.uniform(-0.3, 0.3, 4000).astype(np.float32), 8000)
    sf.write(str(src / "real.ogg"), tone[:8000], 16000, format="OGG", subtype="OPUS")
    train = [
        {"audio": "synth.wav", "text": "a tone", "duration": 1.0, "speaker": "x"},
        {"audio": str(src / "digit.wav"), "text": "five", "duration": 0.5},
        {"audio_filepath": "real.ogg", "text": "real", "duration": 0.5},
    ]
    (src / "train.jsonl").write_text("".join(json.dumps(e) + "\n" for e in train))
    (src / "dev.jsonl").write_text(json.dumps(train[0]) + "\n")  # shared: packed once
    packed = tmp_path / "packed"
    run = [sys.executable, str(LOCAL / "pack_corpus.py"), str(packed)]
    subprocess.run(run + [f"train={src / 'train.jsonl'}", f"dev={src / 'dev.jsonl'}"], check=True)
    audio = sorted(p.suffix for p in (packed / "a").rglob("*.*"))
    assert audio == [".flac", ".ogg", ".ogg"]

    moved = tmp_path / "moved"  # the relative paths survive a move to another machine
    shutil.move(str(packed), str(moved))
    subprocess.run([sys.executable, str(LOCAL / "unpack_corpus.py"), str(moved)], check=True)
    utterances = read_manifest(moved / "wav_train.jsonl")
    assert [u.text for u in utterances] == ["a tone", "five", "real"]
    assert utterances[0].extra["speaker"] == "x"
    assert read_manifest(moved / "wav_dev.jsonl")[0].audio == utterances[0].audio
    for u, seconds, rate in zip(utterances, [1.0, 0.5, 0.5], [16000, 8000, 16000]):
        info = sf.info(str(u.audio))
        assert u.audio.suffix == ".wav" and info.samplerate == rate
        assert abs(info.duration - seconds) < 0.01
    digit, _ = sf.read(str(utterances[1].audio), dtype="float32")
    original, _ = sf.read(str(src / "digit.wav"), dtype="float32")
    assert np.allclose(digit, original, atol=1e-4)  # FLAC is lossless


def test_gpu_finetune_script_trains_averages_and_resumes(tmp_path):
    """recipes/synth/local/gpu_finetune.sh on the CPU: the bundled GRU fine-tuned on the
    bundled samples stops at --seconds, leaves an averaged model that transcribes, and a second
    call resumes from the checkpoint instead of starting over."""
    pack = tmp_path / "pack"
    pack.mkdir()
    samples = Path(__file__).parents[1] / "asr/samples"
    rows = [json.loads(line) for line in (samples / "samples.jsonl").open()]
    for row in rows:
        row["audio"] = str(samples / row["audio"])
    lines = "".join(json.dumps(r) + "\n" for r in rows)
    (pack / "wav_train.jsonl").write_text(lines)
    (pack / "wav_dev.jsonl").write_text(lines)
    out = tmp_path / "out"
    env = env_with_this_python()
    command = [str(LOCAL / "gpu_finetune.sh"), "--pack", str(pack), "--out", str(out)]
    command += ["--device", "cpu", "--workers", "0", "--encoders", "gru", "--seconds", "20"]
    repo = Path(__file__).parents[1]
    for _ in range(2):
        subprocess.run(command, check=True, cwd=repo, env=env, timeout=300)
    model = out / "gru.safetensors"
    assert model.stat().st_size > 1_000_000
    transcript = subprocess.run(
        [sys.executable, "-m", "cli", "transcribe", rows[1]["audio"], "--model", str(model)],
        check=True, capture_output=True, text=True, cwd=repo, env=env,
    ).stdout  # fmt: skip
    assert transcript.strip()
    runs = re.split(r"^training ", (out / "gru.log").read_text(), flags=re.MULTILINE)[1:]
    assert len(runs) == 2
    steps = [[int(s) for s in re.findall(r"\bstep (\d+)\b", run)] for run in runs]
    assert max(steps[0]) >= 3
    assert min(steps[1]) > max(steps[0]) - 5  # went on from a checkpoint, did not restart
