"""PNG pictures of results people would rather see than read (matplotlib, no display)."""

from __future__ import annotations

from pathlib import Path


def plot_training_curves(history: list[dict], path: str | Path) -> None:
    """Loss and every validation WER per epoch, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not history:
        return
    epochs = [r["epoch"] for r in history]
    fig, (ax_loss, ax_wer) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [r["loss"] for r in history], marker="o")
    ax_loss.set(xlabel="epoch", ylabel="CTC loss (last batch)", title="training loss")
    for key in sorted(k for k in history[0] if k.startswith("wer:")):
        label = Path(key[len("wer:") :]).parent.name or key
        ax_wer.plot(epochs, [r.get(key) for r in history], marker="o", label=label)
    ax_wer.set(xlabel="epoch", ylabel="WER", title="validation WER (greedy)")
    if ax_wer.lines:
        ax_wer.legend(fontsize=8)
    ax_wer.grid(alpha=0.3)
    ax_loss.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
