"""The CTC training objective, optionally delay-penalized for streaming models.

Why the penalty: CTC does not care when a token is emitted, and a causal model learns to
wait for more right context before it commits, which a live caption shows as lag. Adding
lambda * (centre - t) to every non-blank log-probability at frame t (as icefall's delay-
penalized transducer and delay-penalized CTC do) makes alignments that emit earlier score
higher, so the model learns to spike sooner; lambda is in nats per encoder frame (40 ms
with the default 10 ms hop and 4x subsampling).
"""

from __future__ import annotations

import torch
from torch.nn import functional


class CTCObjective:
    def __init__(self, blank: int, delay_penalty: float = 0.0):
        self.blank = blank
        self.delay_penalty = delay_penalty

    def __call__(self, log_probs, lengths, targets, target_lengths) -> torch.Tensor:
        """log_probs (B, T, V) -> mean over the batch of the per-token loss (CTCLoss 'mean')."""
        if not self.delay_penalty:
            return functional.ctc_loss(
                log_probs.transpose(0, 1), targets, lengths, target_lengths,
                blank=self.blank, zero_infinity=True,
            )  # fmt: skip
        per_utterance = self.penalized(log_probs, lengths, targets, target_lengths)
        return (per_utterance / target_lengths.clamp(min=1)).mean()

    def penalized(self, log_probs, lengths, targets, target_lengths) -> torch.Tensor:
        """-log of the sum over alignments of exp(sum of (log-prob + bonus)) per utterance.

        torch's ctc_loss wants normalized log-probs (its gradient assumes a log-softmax), so
        the shifted scores are renormalized per frame and the per-frame normalizers, which
        every alignment shares, are added back: the value and gradient are those of the
        unnormalized penalized objective.
        """
        like = {"dtype": log_probs.dtype, "device": log_probs.device}
        frames = torch.arange(log_probs.shape[1], **like)
        frame_counts = lengths.to(**like)
        centre = (frame_counts - 1) / 2
        bonus = self.delay_penalty * (centre[:, None] - frames[None, :])  # (B, T)
        non_blank = torch.ones(log_probs.shape[-1], **like)
        non_blank[self.blank] = 0
        shifted = log_probs + bonus[..., None] * non_blank
        log_norm = shifted.logsumexp(dim=-1)  # (B, T)
        loss = functional.ctc_loss(
            (shifted - log_norm[..., None]).transpose(0, 1), targets, lengths, target_lengths,
            blank=self.blank, reduction="none", zero_infinity=True,
        )  # fmt: skip
        valid = frames[None, :] < frame_counts[:, None]
        feasible = loss > 0  # zero_infinity zeroes the impossible ones: keep them at zero
        return torch.where(feasible, loss - (log_norm * valid).sum(dim=1), torch.zeros_like(loss))
