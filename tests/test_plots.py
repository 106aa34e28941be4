"""The comparison picture: one line per encoder on both panels, written as a real PNG."""

import matplotlib

matplotlib.use("Agg")

from asr.plots import plot_encoder_comparison, plot_training_curves


def history(wers):
    return [
        {"step": 100 * (i + 1), "loss": 3.0 - i, "wer:/d/dev.jsonl": w} for i, w in enumerate(wers)
    ]


def test_encoder_comparison_draws_one_line_per_encoder(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    saved = {}
    real_savefig = matplotlib.figure.Figure.savefig

    def spy(fig, path, **kw):
        saved["lines"] = [len(ax.lines) for ax in fig.axes]
        saved["title"] = fig.axes[1].get_title()
        return real_savefig(fig, path, **kw)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    out = tmp_path / "curves.png"
    plot_encoder_comparison(
        {"blstm": history([0.9, 0.5]), "gru": history([1.0, 0.7]), "mamba": []}, out
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert saved["lines"] == [2, 2]  # the empty mamba history adds nothing
    assert "dev" in saved["title"]
    plt.close("all")


def test_a_record_without_the_first_validation_set_is_a_gap_not_a_crash(tmp_path):
    """A run resumed with other validation sets: its later records lack the first set's WER."""
    import matplotlib.pyplot as plt

    records = history([0.9, 0.5])
    records.append({"step": 300, "loss": 0.5, "wer:/d/other.jsonl": 0.4})
    out = tmp_path / "curves.png"
    plot_encoder_comparison({"gru": records}, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plt.close("all")


def test_training_curves_draw_a_validation_set_added_on_resume(tmp_path, monkeypatch):
    """A resume with another --valid: the new set is in the later records only, and drawn."""
    import matplotlib.pyplot as plt

    labels = {}
    real_savefig = matplotlib.figure.Figure.savefig

    def spy(fig, path, **kw):
        labels["wer"] = [line.get_label() for line in fig.axes[1].lines]
        return real_savefig(fig, path, **kw)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    records = [{**r, "epoch": i + 1} for i, r in enumerate(history([0.9, 0.5]))]
    records.append({"epoch": 3, "loss": 0.5, "wer:/d/dev.jsonl": 0.4, "wer:/d/more.jsonl": 0.6})
    plot_training_curves(records, tmp_path / "curves.png")
    assert len(labels["wer"]) == 2 and any("more" in label for label in labels["wer"])
    plt.close("all")
