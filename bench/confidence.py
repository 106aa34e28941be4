"""How well word confidence (asr/confidence.py) tells right words from wrong ones.

    python bench/confidence.py --manifest M [--model default] [--utts 300] [--lm FILE]
                               [--plot confidence.png]

Decodes the manifest greedily (and by beam search with --lm at the bundled weights), marks
each hypothesis word right or wrong by the WER alignment, and prints per decoding the AUROC
(0.5: the score knows nothing), the mean confidence of right and of wrong words, and for
thresholds 0.3-0.7 the share of wrong words flagged below them against the share of right
words flagged with them; --plot draws the reliability curves and the histograms. A model
with a calibration (`asr calibrate`) is scored calibrated, with the raw scores' error beside.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from asr.beam import BeamOptions
from asr.bundled import DEFAULT_MODEL
from asr.calibrate import word_scores
from asr.checkpoint import load_model
from asr.confidence import Calibration, auroc, calibration_error
from asr.manifest import read_manifest
from asr.plots import plot_confidence
from asr.transcribe import Transcriber


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def report(name: str, raw: list[float], right: list[bool], calibration, beam: bool) -> None:
    """Figures for the model's scores; with a calibration, the raw scores' error beside."""
    scores = [calibration.apply(s, beam) for s in raw] if calibration else raw
    wrong = len(right) - sum(right)
    error = f"calibration error {calibration_error(scores, right):.3f}"
    if calibration:
        error += f" (raw scores {calibration_error(raw, right):.3f})"
    print(f"  {name}: words {len(right)}, right {sum(right) / len(right):.3f}, "
          f"AUROC {auroc(scores, right):.3f}, {error}")  # fmt: skip
    print(f"    mean confidence: right {mean([s for s, r in zip(scores, right) if r]):.3f}, "
          f"wrong {mean([s for s, r in zip(scores, right) if not r]):.3f}")  # fmt: skip
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
        caught = sum(1 for s, r in zip(scores, right) if s < threshold and not r)
        false = sum(1 for s, r in zip(scores, right) if s < threshold and r)
        print(f"    below {threshold}: {caught / max(wrong, 1):.3f} of wrong words, "
              f"{false / max(sum(right), 1):.3f} of right ones")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--utts", type=int, default=300, help="evenly spaced utterances")
    parser.add_argument("--lm", type=Path, help="also beam search with this LM (bundled weights)")
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    loaded = load_model(args.model)
    decodings = {"greedy": Transcriber(loaded)}
    if args.lm:
        decodings["beam + LM"] = Transcriber(loaded, BeamOptions(lm=args.lm))
    utterances = read_manifest(args.manifest)
    utterances = utterances[:: max(1, len(utterances) // args.utts)][: args.utts]
    calibration = Calibration.from_info(loaded.info)
    for transcriber in decodings.values():
        transcriber.calibration = None  # raw scores; report() maps them
    results = {
        name: word_scores(t, utterances, f"decoding ({name})") for name, t in decodings.items()
    }
    print(f"{args.manifest} ({len(utterances)} utterances), {Path(args.model).name}")
    for name, (scores, right) in results.items():
        report(name, scores, right, calibration, beam=name != "greedy")
    if calibration:
        results = {name: ([calibration.apply(s, name != "greedy") for s in scores], right)
                   for name, (scores, right) in results.items()}  # fmt: skip
    if args.plot:
        plot_confidence(results, args.plot)
        print(f"  plot: {args.plot}")


if __name__ == "__main__":
    main()
