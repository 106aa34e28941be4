"""Collect a recipes/compare run into table.md and curves.png.

    python recipes/compare/local/table.py --train T.jsonl --out DIR ENCODER...

Reads DIR/ENCODER/{history.json, last.safetensors, eval_NAME.json} as run.sh leaves them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from asr.checkpoint import load_model
from asr.manifest import read_manifest
from asr.plots import plot_encoder_comparison


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("encoders", nargs="+")
    args = parser.parse_args()
    epoch_audio = sum(u.duration or 0.0 for u in read_manifest(args.train))
    histories, rows, tests = {}, [], None
    for enc in args.encoders:
        exp = args.out / enc
        history = json.loads((exp / "history.json").read_text())
        histories[enc] = history
        evals = {
            p.stem[len("eval_") :]: json.loads(p.read_text())
            for p in sorted(exp.glob("eval_*.json"))
        }
        tests = tests or list(evals)
        speed = sum(r["audio_seconds_per_second"] for r in history) / len(history)
        params = load_model(exp / "last.safetensors").model.num_parameters() / 1e6
        cells = [f"{evals[t]['wer']:.3f} / {evals[t]['cer']:.3f}" for t in tests]
        rtf = sum(e["rtf"] for e in evals.values()) / len(evals)
        rows.append([enc, f"{params:.2f} M", str(history[-1]["step"]), *cells,
                     f"{epoch_audio / speed:.0f} s", f"{rtf:.4f}"])  # fmt: skip
    header = ["encoder", "parameters", "steps", *[f"{t} WER / CER" for t in tests],
              "training s / epoch", "decoding RTF (1 thread)"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    (args.out / "table.md").write_text("\n".join(lines) + "\n")
    plot_encoder_comparison(histories, args.out / "curves.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
