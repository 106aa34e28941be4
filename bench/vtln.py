"""What `--vtln` (a vocal-tract-length warp searched per utterance) changes, in matched pairs.

    python bench/vtln.py --manifest M [--model default] [--lm] [--utts N]

Decodes the manifest plainly and with the warp search (asr.features.VTLN_WARPS), greedily or
with the bundled LM (--lm), one thread, and prints both WERs, the difference with its 95%
interval and the share of resamples in which the search wins (asr/significance.py; whole
speakers are resampled where the manifest names 10 or more), and both real-time factors.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from asr.beam import bundled_decoding
from asr.bundled import DEFAULT_MODEL
from asr.checkpoint import load_model
from asr.evaluate import compare_scores, evaluate_manifest
from asr.features import VTLN_WARPS
from asr.transcribe import Transcriber


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--lm", action="store_true", help="beam search with the bundled LM")
    args = parser.parse_args()
    torch.set_num_threads(1)
    loaded = load_model(args.model)
    beam = bundled_decoding() if args.lm else None
    searched = evaluate_manifest(Transcriber(loaded, beam, warps=VTLN_WARPS), args.manifest)
    plain = evaluate_manifest(Transcriber(loaded, beam), args.manifest)
    versus = compare_scores(searched, plain)
    low, high = versus["difference_ci95"]
    print(f"{args.manifest} ({plain.utterances} utterances, {plain.words} words), "
          f"{Path(args.model).name}, {'bundled LM' if args.lm else 'greedy'}")  # fmt: skip
    print(f"  WER plain {plain.wer:.4f}, --vtln {searched.wer:.4f}: difference "
          f"{versus['difference']:+.4f} [95% interval {low:+.4f}, {high:+.4f}, "
          f"{versus['ci_resampled']}s resampled], --vtln lower in {versus['better']:.3f}")  # fmt: skip
    print(f"  RTF plain {plain.rtf:.4f}, --vtln {searched.rtf:.4f} "
          f"({searched.rtf / plain.rtf:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
