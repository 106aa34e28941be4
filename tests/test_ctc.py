"""The delay-penalized CTC objective: exact value, exact gradient, and it pulls emissions earlier."""

import itertools
import math

import torch

from asr.ctc import CTCObjective


def _random_batch(seed=0, lengths=(9, 7), targets=((1, 2, 1), (2,)), vocab=4):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(len(lengths), max(lengths), vocab, generator=gen, dtype=torch.float64)
    flat = torch.tensor([t for seq in targets for t in seq])
    return (logits.log_softmax(-1), torch.tensor(lengths), flat,
            torch.tensor([len(t) for t in targets]))  # fmt: skip


def _collapse(path, blank=0):
    out = [k for k, _ in itertools.groupby(path)]
    return tuple(k for k in out if k != blank)


def test_without_penalty_it_is_torch_ctc_loss():
    log_probs, lengths, targets, target_lengths = _random_batch()
    expected = torch.nn.CTCLoss(blank=0, zero_infinity=True)(
        log_probs.transpose(0, 1), targets, lengths, target_lengths
    )
    got = CTCObjective(blank=0)(log_probs, lengths, targets, target_lengths)
    assert torch.allclose(got, expected)


def test_penalized_loss_equals_the_sum_over_all_alignments():
    penalty, length, target = 0.3, 5, (1, 2)
    log_probs, lengths, targets, target_lengths = _random_batch(
        lengths=(length,), targets=(target,), vocab=3
    )
    centre = (length - 1) / 2
    total = 0.0
    for path in itertools.product(range(3), repeat=length):
        if _collapse(path) == target:
            score = sum(log_probs[0, t, k].item() + (penalty * (centre - t) if k else 0.0)
                        for t, k in enumerate(path))  # fmt: skip
            total += math.exp(score)
    got = CTCObjective(0, penalty).penalized(log_probs, lengths, targets, target_lengths)
    assert abs(got.item() - (-math.log(total))) < 1e-9


def test_penalized_gradient_is_exact():
    log_probs, lengths, targets, target_lengths = _random_batch()
    logits = log_probs.clone().requires_grad_(True)
    objective = CTCObjective(0, 0.2)

    def loss(x):
        return objective(x.log_softmax(-1), lengths, targets, target_lengths)

    assert torch.autograd.gradcheck(loss, (logits,))


def _mean_emission_frame(penalty: float) -> float:
    """Where the alignment posterior puts non-blank tokens (minus the gradient on log-probs)."""
    length = 20
    log_probs = torch.full((1, length, 3), math.log(1 / 3), dtype=torch.float64)
    log_probs.requires_grad_(True)
    objective = CTCObjective(0, penalty)
    lengths, target_lengths = torch.tensor([length]), torch.tensor([2])
    per_utt = objective.penalized(log_probs, lengths, torch.tensor([1, 2]), target_lengths)
    (grad,) = torch.autograd.grad(per_utt.sum(), log_probs)
    occupancy = -grad[0, :, 1:].sum(dim=1)  # posterior mass of non-blank tokens per frame
    return float((occupancy * torch.arange(length)).sum() / occupancy.sum())


def test_delay_penalty_moves_emissions_earlier():
    assert _mean_emission_frame(0.3) < _mean_emission_frame(0.0) - 2


def test_impossible_utterance_contributes_nothing():
    # Three tokens cannot fit in two frames: zero loss, finite gradient, like zero_infinity.
    log_probs, lengths, targets, target_lengths = _random_batch(lengths=(2,), targets=((1, 2, 3),))
    log_probs.requires_grad_(True)
    loss = CTCObjective(0, 0.2)(log_probs, lengths, targets, target_lengths)
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(log_probs.grad).all()
