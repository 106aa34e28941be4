"""PNG pictures of results people would rather see than read (matplotlib, no display)."""

from __future__ import annotations

from pathlib import Path


def manifest_label(path: str) -> str:
    """A short legend name: the file's stem, or its folder's name for a generic stem."""
    p = Path(path)
    return p.parent.name if p.stem in ("manifest", "data") else p.stem


def _pyplot():
    """matplotlib's pyplot on the Agg backend: files only, no display needed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_panels(plt, fig, axes, path) -> None:
    """Grid every panel, add a legend where lines are labelled, write the PNG, free the figure."""
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_training_curves(history: list[dict], path: str | Path) -> None:
    """Loss and every validation WER per epoch, side by side."""
    if not history:
        return
    plt = _pyplot()
    epochs = [r["epoch"] for r in history]
    fig, (ax_loss, ax_wer) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [r["loss"] for r in history], marker="o")
    ax_loss.set(xlabel="epoch", ylabel="CTC loss (last batch)", title="training loss")
    for key in validation_keys(history):
        label = manifest_label(key[len("wer:") :])
        ax_wer.plot(epochs, [r.get(key) for r in history], marker="o", label=label)
    ax_wer.set(xlabel="epoch", ylabel="WER", title="validation WER (greedy)")
    _save_panels(plt, fig, (ax_loss, ax_wer), path)


def validation_keys(history: list[dict]) -> list[str]:
    """Every validation set's WER key in the run, sorted: a set added on a resume (another
    --valid) is in the later records only."""
    return sorted({k for record in history for k in record if k.startswith("wer:")})


def plot_encoder_comparison(histories: dict[str, list[dict]], path: str | Path) -> None:
    """Training loss and first validation set's WER against step, one line per encoder."""
    plt = _pyplot()
    fig, (ax_loss, ax_wer) = plt.subplots(1, 2, figsize=(10, 4))
    for name, history in histories.items():
        if not history:
            continue
        steps = [r["step"] for r in history]
        ax_loss.plot(steps, [r["loss"] for r in history], marker="o", label=name)
        key = next((k for k in history[0] if k.startswith("wer:")), None)
        if key:
            ax_wer.plot(steps, [r.get(key) for r in history], marker="o", label=name)
            ax_wer.set_title(f"validation WER, {manifest_label(key[len('wer:') :])} (greedy)")
    ax_loss.set(xlabel="step", ylabel="CTC loss (last batch)", title="training loss")
    ax_wer.set(xlabel="step", ylabel="WER")
    _save_panels(plt, fig, (ax_loss, ax_wer), path)


def plot_alignment(feats, log_probs, tokenizer, hyp, ref: str, frame_seconds: float, path) -> None:
    """One utterance: log-mel features, CTC posteriors of the symbols it used (blank apart),
    and the greedy hypothesis's words at their times, against the reference."""
    import numpy as np

    plt = _pyplot()
    feats, log_probs = np.asarray(feats), np.asarray(log_probs)  # torch or onnxruntime
    probs = np.exp(log_probs)  # (T', V)
    used = sorted({int(i) for i in log_probs.argmax(-1)} - {tokenizer.blank_id})
    duration = log_probs.shape[0] * frame_seconds
    fig, (ax_f, ax_p) = plt.subplots(2, 1, figsize=(12, 6), sharex=True)
    ax_f.imshow(feats.T, origin="lower", aspect="auto", extent=(0, duration, 0, feats.shape[1]))
    ax_f.set(ylabel="mel band", title=f"REF: {ref}\nHYP: {hyp.text}")
    times = [t * frame_seconds for t in range(log_probs.shape[0])]
    ax_p.plot(times, probs[:, tokenizer.blank_id], color="0.7", lw=1, label="blank")
    for index in used:
        ax_p.plot(times, probs[:, index], lw=1)
        peak = int(probs[:, index].argmax())
        ax_p.text(times[peak], float(probs[peak, index]), tokenizer.symbols[index], fontsize=8)
    for word in hyp.words:
        ax_p.axvspan(word.start, word.end, color="tab:green", alpha=0.12)
        ax_p.text(word.start, 1.05, word.word, fontsize=8, color="tab:green")
    ax_p.set(xlabel="seconds", ylabel="posterior", ylim=(0, 1.15))
    ax_p.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_confidence(curves: dict[str, tuple[list[float], list[bool]]], path: str | Path) -> None:
    """Per decoding (name -> word confidences, whether each word was right): the share of
    right words per confidence tenth against the diagonal, and how many words fall in each."""
    plt = _pyplot()
    fig, (ax_rel, ax_count) = plt.subplots(1, 2, figsize=(10, 4))
    from asr.confidence import reliability_bins

    centers = [(b + 0.5) / 10 for b in range(10)]
    for name, (scores, right) in curves.items():
        bins = reliability_bins(scores, right, 10)
        filled = [(c, share) for c, (n, _, share) in zip(centers, bins) if n]
        ax_rel.plot(*zip(*filled), marker="o", label=name)
        ax_count.plot(centers, [n for n, _, _ in bins], marker="o", label=name)
    ax_rel.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="calibrated")
    ax_rel.set(xlabel="word confidence", ylabel="share of words right", xlim=(0, 1), ylim=(0, 1),
               title="reliability")  # fmt: skip
    ax_count.set(xlabel="word confidence", ylabel="words", title="words per confidence tenth")
    _save_panels(plt, fig, (ax_rel, ax_count), path)
