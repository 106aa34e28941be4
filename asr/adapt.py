"""Test-time adaptation: before decoding, each utterance tunes a private copy of the model's
weights for a few steps to be surer of its letters, then is decoded with them.

Why: the model meets voices, accents and microphones unlike its training ones, and nothing
labelled comes with them. After SUTA (Lin et al., "Listen, Adapt, Better WER", Interspeech
2022): the objective needs no transcript, only the utterance. It is the entropy of the
frames whose most likely symbol is a letter (blank frames left out: making them surer only
teaches more blank) plus minimum class confusion (letters should not share frames), both at
a softened temperature. Each utterance starts again from the stored weights, so results do
not depend on what was decoded before.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.func import functional_call


@dataclass(frozen=True)
class AdaptOptions:
    """Chosen on dev.jsonl with the bundled BiLSTM (README, `--adapt`: what else was tried)."""

    steps: int = 10  # Adam steps per utterance; each costs about one forward and backward pass
    lr: float = 1e-4  # Adam learning rate on every weight of the model
    temperature: float = 2.5  # softens the posteriors the objective reads
    confusion_weight: float = 2.33  # minimum class confusion against letter-frame entropy


def adaptation_loss(log_probs: torch.Tensor, blank_id: int, options: AdaptOptions) -> torch.Tensor:
    """(T', V) log-probs of one utterance -> the scalar the adaptation minimizes."""
    logits = log_probs / options.temperature
    probs = logits.softmax(-1)
    entropy = -(probs * logits.log_softmax(-1)).sum(-1)  # (T',)
    letters = probs.argmax(-1) != blank_id  # word boundaries count as letters
    loss = entropy[letters].mean() if letters.any() else entropy.sum() * 0.0
    if options.confusion_weight:
        loss = loss + options.confusion_weight * class_confusion(probs)
    return loss


def class_confusion(probs: torch.Tensor) -> torch.Tensor:
    """(T', V) posteriors -> mean off-diagonal mass of the row-normalized symbol
    co-occurrence matrix: 0 when no two symbols share a frame."""
    cooccurrence = probs.t() @ probs  # (V, V)
    cooccurrence = cooccurrence / cooccurrence.sum(1, keepdim=True).clamp_min(1e-8)
    return (cooccurrence.sum() - cooccurrence.trace()) / cooccurrence.shape[0]


def adapted_log_probs(
    model: torch.nn.Module, feats: torch.Tensor, blank_id: int, options: AdaptOptions
) -> torch.Tensor:
    """(T, F) normalized features of one utterance -> (T', V) log-probs from a copy of
    `model`'s weights tuned to them. `model` itself is left untouched (threads may share it)."""
    with torch.inference_mode(False), torch.enable_grad():
        feats = feats.clone()[None]  # an ordinary tensor even if made under inference mode
        lens = torch.tensor([feats.shape[1]])
        weights = {
            name: p.detach().clone().requires_grad_() for name, p in model.named_parameters()
        }
        optimizer = torch.optim.Adam(weights.values(), lr=options.lr)
        for _ in range(options.steps):
            log_probs, out_lens = functional_call(model, weights, (feats, lens))
            loss = adaptation_loss(log_probs[0, : int(out_lens[0])], blank_id, options)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            log_probs, out_lens = functional_call(model, weights, (feats, lens))
    return log_probs[0, : int(out_lens[0])].detach()
