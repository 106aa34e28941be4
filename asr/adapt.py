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

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.func import functional_call

from asr.manifest import padded_batches

BATCH_FRAMES = 60_000  # feature frames (10 ms) per padded batch when tuning on many utterances


@dataclass(frozen=True)
class AdaptOptions:
    """Chosen on dev.jsonl with the bundled BiLSTM (README, `--adapt`: what else was tried)."""

    steps: int = 10  # Adam steps per utterance; each costs about one forward and backward pass
    lr: float = 1e-4  # Adam learning rate on every weight of the model
    temperature: float = 2.5  # softens the posteriors the objective reads
    confusion_weight: float = 2.33  # minimum class confusion against letter-frame entropy


# One speaker's recordings at once (`asr adapt`, `--adapt-speaker`): 3 steps, not 10. Chosen
# on dev with today's word-piece BiLSTM (`bench/test_time.py --adapt-speaker`): 10 steps took
# FSDD lucas 0.086 -> 0.006 but dev.jsonl's sentences 0.447 -> 0.519; 3 steps 0.028 and 0.453
# (no measurable cost), lr 2e-5 at 10 steps 0.034 and 0.450.
SPEAKER_ADAPTATION = AdaptOptions(steps=3)


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
    runner = private_copy(model)  # tuned and decoded on: functional_call swaps weights into it
    weights = tuned_weights(runner, [feats], blank_id, options)
    with torch.no_grad():
        log_probs, out_lens = functional_call(
            runner, weights, (feats[None], torch.tensor([len(feats)]))
        )
    return log_probs[0, : int(out_lens[0])]


def private_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of `model`'s modules that shares its parameter and buffer tensors (no memory
    for weights). functional_call swaps the weights it is given into the very modules it
    runs, for the length of the call: run on `model` itself, a thread decoding with it
    meanwhile would decode with half-tuned weights."""
    shared = {id(t): t for t in itertools.chain(model.parameters(), model.buffers())}
    return copy.deepcopy(model, shared)


def adapted_model(
    model: torch.nn.Module,
    feats: list[torch.Tensor],
    blank_id: int,
    options: AdaptOptions,
    on_step: Callable[[int], None] | None = None,
) -> torch.nn.Module:
    """A copy of `model` tuned to all of `feats` ((T, F) normalized features each) at once:
    one speaker's recordings, say, so that the copy can then decode them, or their speaker's
    next ones, with any search (`asr adapt`, `--adapt-speaker`). `on_step(n)` hears after
    each of the steps (a progress bar: minutes of audio take a minute or more)."""
    tuned = copy.deepcopy(model)
    weights = tuned_weights(tuned, feats, blank_id, options, on_step=on_step)
    tuned.load_state_dict(weights, strict=False)
    return tuned.eval()


def tuned_weights(
    model: torch.nn.Module,
    feats: list[torch.Tensor],
    blank_id: int,
    options: AdaptOptions,
    batch_frames: int = BATCH_FRAMES,
    on_step: Callable[[int], None] | None = None,
) -> dict[str, torch.Tensor]:
    """`model`'s parameters after `options.steps` Adam steps on the mean adaptation loss of
    the utterances `feats`. Each step's gradient is summed over padded batches of at most
    `batch_frames` frames, so it is the whole set's gradient in bounded memory. The steps run
    `model` itself with trial weights swapped in (functional_call), so its weights are not
    its own during the call: pass a `private_copy` of a model other threads decode with."""
    feats = [f for f in feats if len(f)]
    with torch.inference_mode(False), torch.enable_grad():
        weights = {
            name: p.detach().clone().requires_grad_() for name, p in model.named_parameters()
        }
        if not feats:
            return {name: w.detach() for name, w in weights.items()}
        optimizer = torch.optim.Adam(weights.values(), lr=options.lr)
        # ordinary tensors even if made under inference mode
        order, lengths = list(range(len(feats))), [len(f) for f in feats]
        batches = [[feats[i].clone() for i in batch]
                   for batch in padded_batches(order, lengths, batch_frames)]  # fmt: skip
        for step in range(options.steps):
            optimizer.zero_grad()
            for batch in batches:
                lens = torch.tensor([len(f) for f in batch])
                padded = torch.nn.utils.rnn.pad_sequence(batch, batch_first=True)
                log_probs, out_lens = functional_call(model, weights, (padded, lens))
                losses = [adaptation_loss(log_probs[row, :n], blank_id, options)
                          for row, n in enumerate(out_lens.tolist()) if n]  # fmt: skip
                if losses:
                    (torch.stack(losses).sum() / len(feats)).backward()
            optimizer.step()
            if on_step is not None:
                on_step(step + 1)
    return {name: w.detach() for name, w in weights.items()}
