"""recipes/compare/run.sh end to end on the bundled samples: encoders trained at once
(--jobs), every --valid set on the curve, a table row per encoder at the same step."""

import json
import subprocess
from pathlib import Path

from conftest import env_with_this_python

REPO = Path(__file__).parents[1]


def _samples_manifest(path: Path) -> Path:
    samples = REPO / "asr/samples"
    rows = [json.loads(line) for line in (samples / "samples.jsonl").open()]
    for row in rows:
        row["audio"] = str(samples / row["audio"])
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_compare_trains_encoders_side_by_side_and_tabulates_them(tmp_path):
    train = _samples_manifest(tmp_path / "train.jsonl")
    held = _samples_manifest(tmp_path / "held.jsonl")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("the\ntrain\nleaves\n")
    out = tmp_path / "out"
    command = [
        str(REPO / "recipes/compare/run.sh"), "--train", str(train), "--valid", str(train),
        "--valid", str(held), "--test", f"plain={held}", "--test", f"vocab={held}={vocab}",
        "--encoders", "gru blstm", "--jobs", "2", "--steps", "3", "--valid-every", "3",
        "--batch-seconds", "20", "--device", "cpu", "--workers", "0", "--out", str(out),
    ]  # fmt: skip
    env = env_with_this_python()
    subprocess.run(command, check=True, cwd=REPO, env=env, timeout=600, capture_output=True)
    table = (out / "table.md").read_text().splitlines()
    rows = {line.split(" | ")[0].strip("| "): line for line in table[2:]}
    assert sorted(rows) == ["blstm", "gru"]
    for enc in ("gru", "blstm"):
        history = json.loads((out / enc / "history.json").read_text())
        assert history[-1]["step"] == 3
        assert f"wer:{train}" in history[-1] and f"wer:{held}" in history[-1]
        assert rows[enc].split(" | ")[2] == "3"
        evals = {p.stem for p in (out / enc).glob("eval_*.json")}
        assert evals == {"eval_plain", "eval_vocab"}
        vocab_words = json.loads((out / enc / "eval_vocab.json").read_text())
        assert vocab_words["utterances"] == 3
    before = (out / "gru" / "last.safetensors").stat().st_mtime_ns
    subprocess.run(command, check=True, cwd=REPO, env=env, timeout=600, capture_output=True)
    assert (out / "gru" / "last.safetensors").stat().st_mtime_ns == before  # done: not retrained
