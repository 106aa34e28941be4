"""Offline speed of each encoder, single-threaded: training throughput and decoding RTF.

    python bench/offline.py [--seconds 120] [--configs configs/blstm.yaml configs/gru.yaml]

Prints audio-seconds trained per wall-second and the decoding real-time factor for each
config, and each figure as a ratio to the first config measured in the same run (the
machines are shared and noisy, so only same-run ratios compare).
"""

from __future__ import annotations

import argparse
import time

import torch

from asr.config import load_config
from asr.dataset import Batch
from asr.decoding import greedy_decode
from asr.features import FeatureStats, LogMel
from asr.model import SUBSAMPLING, CTCModel
from asr.text import CharTokenizer


def make_batches(total_seconds: float, gen: torch.Generator, tok, logmel) -> list[Batch]:
    """Noise 'utterances' of 2-8 s in batches of ~120 s; speed does not depend on content."""
    batches, made = [], 0.0
    while made < total_seconds:
        lengths = [float(2 + 6 * torch.rand((), generator=gen)) for _ in range(24)]
        waves = [torch.randn(int(s * 16000), generator=gen) * 0.1 for s in lengths]
        feats = [logmel(w) for w in waves]
        texts = [tok.encode("the quick brown fox " * int(s)) for s in lengths]
        batches.append(Batch(
            feats=torch.nn.utils.rnn.pad_sequence(feats, batch_first=True),
            feat_lens=torch.tensor([f.shape[0] for f in feats]),
            targets=torch.tensor([t for text in texts for t in text]),
            target_lens=torch.tensor([len(t) for t in texts]), seconds=sum(lengths),
        ))  # fmt: skip
        made += sum(lengths)
    return batches


def train_throughput(model: CTCModel, batches: list[Batch]) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ctc = torch.nn.CTCLoss(zero_infinity=True)
    model.train()
    started = time.perf_counter()
    for b in batches:
        log_probs, out_lens = model(b.feats, b.feat_lens)
        loss = ctc(log_probs.transpose(0, 1), b.targets, out_lens, b.target_lens)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return sum(b.seconds for b in batches) / (time.perf_counter() - started)


@torch.inference_mode()
def decode_rtf(model: CTCModel, waves: list[torch.Tensor], logmel, tok) -> float:
    """Per-file decoding as `asr transcribe` does it: features, model, greedy search."""
    model.eval()
    stats = FeatureStats.identity(80)
    started = time.perf_counter()
    for wave in waves:
        feats = stats.normalize(logmel(wave))
        log_probs, lens = model(feats.unsqueeze(0), torch.tensor([feats.shape[0]]))
        greedy_decode(log_probs[0, : lens[0]], tok, SUBSAMPLING * 0.01)
    return (time.perf_counter() - started) / (sum(w.shape[0] for w in waves) / 16000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=120.0, help="audio seconds per measurement"
    )
    parser.add_argument("--configs", nargs="+", default=["configs/blstm.yaml", "configs/gru.yaml"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    tok, gen = CharTokenizer(), torch.Generator().manual_seed(0)
    rows = []
    for path in args.configs:
        cfg = load_config(path)
        logmel = LogMel(cfg.features)
        torch.manual_seed(0)
        model = CTCModel(cfg.model, cfg.features.n_mels, len(tok))
        batches = make_batches(args.seconds, gen, tok, logmel)
        waves = [torch.randn(16000 * 5, generator=gen) * 0.1 for _ in range(int(args.seconds // 5))]
        train_throughput(model, batches[:1])  # warm-up: first calls allocate
        rows.append((cfg.model.encoder, model.num_parameters(), train_throughput(model, batches),
                     decode_rtf(model, waves, logmel, tok)))  # fmt: skip
    base = rows[0]
    print(
        f"{'encoder':8} {'params':>9} {'train audio-s/s':>16} {'ratio':>6} {'decode RTF':>11} {'ratio':>6}"
    )
    for name, params, speed, rtf in rows:
        print(
            f"{name:8} {params:9,d} {speed:16.1f} {speed / base[2]:6.2f} {rtf:11.4f} {rtf / base[3]:6.2f}"
        )
    print(f"(1 thread; ratios relative to {base[0]} in this run)")


if __name__ == "__main__":
    main()
