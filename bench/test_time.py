"""What the test-time options change, in matched pairs: `--vtln` (a vocal-tract-length warp
searched per utterance), `--adapt` (weights tuned to each utterance) and `--adapt-speaker`
(weights tuned to each speaker's utterances at once).

    python bench/test_time.py --manifest M [--model default] [--lm | --vocab FILE]
                              [--vtln] [--adapt | --adapt-speaker]

Decodes the manifest plainly and with the chosen options (--vtln if none is named), greedily,
with the bundled LM (--lm) or a word list (--vocab), one thread, and prints both WERs, the
difference with its 95%
interval and the share of resamples in which the options win (asr/significance.py; whole
speakers are resampled where the manifest names 10 or more), and both real-time factors.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from asr.adapt import SPEAKER_ADAPTATION, AdaptOptions
from asr.beam import BeamOptions, bundled_decoding
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
    parser.add_argument("--vtln", action="store_true", help="search the warp (the default)")
    parser.add_argument("--vocab", type=Path, help="lexicon-constrained search of this list")
    parser.add_argument("--adapt", action="store_true", help="tune the weights per utterance")
    parser.add_argument("--adapt-speaker", action="store_true", help="... per speaker")
    args = parser.parse_args()
    torch.set_num_threads(1)
    loaded = load_model(args.model)
    beam = bundled_decoding() if args.lm else BeamOptions(vocab=args.vocab) if args.vocab else None
    vtln = args.vtln or not (args.adapt or args.adapt_speaker)
    chosen = (("--vtln", vtln), ("--adapt", args.adapt), ("--adapt-speaker", args.adapt_speaker))
    options = " ".join(flag for flag, on in chosen if on)
    tried = Transcriber(loaded, beam, warps=VTLN_WARPS if vtln else (),
                        adapt=AdaptOptions() if args.adapt else None)  # fmt: skip
    speakers = SPEAKER_ADAPTATION if args.adapt_speaker else None
    searched = evaluate_manifest(tried, args.manifest, adapt_speakers=speakers)
    plain = evaluate_manifest(Transcriber(loaded, beam), args.manifest)
    versus = compare_scores(searched, plain)
    search = "bundled LM" if args.lm else f"--vocab {args.vocab}" if args.vocab else "greedy"
    low, high = versus["difference_ci95"]
    print(f"{args.manifest} ({plain.utterances} utterances, {plain.words} words), "
          f"{Path(args.model).name}, {search}")  # fmt: skip
    print(f"  WER plain {plain.wer:.4f}, {options} {searched.wer:.4f}: difference "
          f"{versus['difference']:+.4f} [95% interval {low:+.4f}, {high:+.4f}, "
          f"{versus['ci_resampled']}s resampled], {options} lower in {versus['better']:.3f}")  # fmt: skip
    print(f"  RTF plain {plain.rtf:.4f}, {options} {searched.rtf:.4f} "
          f"({searched.rtf / plain.rtf:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
