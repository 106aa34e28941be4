"""`asr average`: the mean of snapshots' weights, refusing files of another model."""

import torch
from typer.testing import CliRunner

from asr.average import average_models
from asr.checkpoint import load_model, save_model
from asr.confidence import CALIBRATION_KEY
from asr.config import Config, ModelConfig
from asr.features import FeatureStats
from asr.model import CTCModel
from asr.text import CharTokenizer
from cli import app


def _model_file(path, seed: int, hidden: int = 16, info: dict | None = None):
    torch.manual_seed(seed)
    config = Config(model=ModelConfig(encoder="gru", hidden=hidden, layers=1, frontend_channels=4))
    model = CTCModel(config.model, config.features.n_mels, 29)
    stats = FeatureStats(torch.zeros(80), torch.ones(80))
    save_model(path, model, config, CharTokenizer(), stats, info or {"step": seed})
    return model.state_dict()


def test_average_is_the_mean_of_the_weights(tmp_path):
    weights = [_model_file(tmp_path / f"{i}.safetensors", seed=i) for i in range(3)]
    paths = [tmp_path / f"{i}.safetensors" for i in range(3)]
    average_models(paths, tmp_path / "avg.safetensors")
    averaged = load_model(tmp_path / "avg.safetensors")
    for key, value in averaged.model.state_dict().items():
        expected = sum(w[key] for w in weights) / 3
        assert torch.allclose(value, expected, atol=1e-6), key
    assert averaged.info["averaged"] == [str(p) for p in paths]


def test_a_mean_records_the_newest_step_but_no_scores_or_fit_of_one_file(tmp_path):
    """`asr info` on a mean showed the oldest snapshot's step and validation WER, as if they
    described the averaged weights; a snapshot's confidence fit does not fit the mean either."""
    paths = [tmp_path / f"{step}.safetensors" for step in (100, 300)]
    for path, step in zip(paths, (100, 300), strict=True):
        info = {"step": step, "epoch": step // 100, "valid": {"wer:dev": step / 1000},
                CALIBRATION_KEY: {"greedy": [1.0, 0.0]}}  # fmt: skip
        _model_file(path, seed=step, info=info)
    averaged = average_models(paths, tmp_path / "avg.safetensors")
    info = load_model(tmp_path / "avg.safetensors").info
    assert info == averaged.info
    assert (info["step"], info["epoch"]) == (300, 3)
    assert "valid" not in info and CALIBRATION_KEY not in info
    copy = average_models(paths[:1], tmp_path / "copy.safetensors", half=True)
    assert copy.info["valid"] == {"wer:dev": 0.1}  # one file: a copy keeps its record


def test_cli_refuses_to_average_different_models(tmp_path):
    _model_file(tmp_path / "a.safetensors", seed=0)
    _model_file(tmp_path / "b.safetensors", seed=1, hidden=24)
    result = CliRunner().invoke(app, ["average", str(tmp_path / "a.safetensors"),
                                      str(tmp_path / "b.safetensors"), "--out", str(tmp_path / "o")])  # fmt: skip
    assert result.exit_code == 1
    assert "b.safetensors: model or feature config differs" in result.output
    assert not (tmp_path / "o").exists()


def test_half_stores_float16_weights_that_load_as_float32(tmp_path):
    weights = _model_file(tmp_path / "a.safetensors", seed=1, hidden=64)
    runner = CliRunner()
    args = ["average", str(tmp_path / "a.safetensors"), "--out"]
    assert runner.invoke(app, args + [str(tmp_path / "full.safetensors")]).exit_code == 0
    result = runner.invoke(app, args + [str(tmp_path / "half.safetensors"), "--half"])
    assert result.exit_code == 0, result.output
    full, half = (
        (tmp_path / "full.safetensors").stat().st_size,
        (tmp_path / "half.safetensors").stat().st_size,
    )
    assert 0.45 < half / full < 0.6
    loaded = load_model(tmp_path / "half.safetensors")
    for key, value in loaded.model.state_dict().items():
        assert value.dtype == torch.float32
        assert torch.allclose(value, weights[key], rtol=1e-3, atol=1e-4), key
    assert torch.equal(loaded.stats.mean, torch.zeros(80))  # statistics stay float32


def test_a_run_folder_stands_for_its_newest_snapshots_in_step_order(tmp_path):
    run = tmp_path / "run"
    (run / "snapshots").mkdir(parents=True)
    weights = {
        step: _model_file(run / "snapshots" / f"step-{step}.safetensors", seed=step)
        for step in (9, 10, 200, 1000)  # a name sort would put 1000 before 200 and 9 last
    }
    result = CliRunner().invoke(
        app, ["average", str(run), "--last", "2", "--out", str(tmp_path / "avg.safetensors")]
    )
    assert result.exit_code == 0, result.output
    assert "mean of 2 models" in result.output
    averaged = load_model(tmp_path / "avg.safetensors")
    assert averaged.info["averaged"] == [
        str(run / "snapshots" / f"step-{s}.safetensors") for s in (200, 1000)
    ]
    for key, value in averaged.model.state_dict().items():
        assert torch.allclose(value, (weights[200][key] + weights[1000][key]) / 2, atol=1e-6)


def test_a_run_folder_without_snapshots_is_a_one_line_error(tmp_path):
    (tmp_path / "run").mkdir()
    result = CliRunner().invoke(
        app, ["average", str(tmp_path / "run"), "--out", str(tmp_path / "o.safetensors")]
    )
    assert result.exit_code == 1
    reason = (
        "no snapshots/step-*.safetensors in this run (train it with --set train.keep_snapshots=N)"
    )
    assert result.output.strip().splitlines() == [f"asr: error: {tmp_path / 'run'}: {reason}"]
    assert not (tmp_path / "o.safetensors").exists()


def test_a_mean_records_the_largest_step_whatever_the_order(tmp_path):
    paths = [tmp_path / f"step-{step}.safetensors" for step in (6, 2)]
    for path, step in zip(paths, (6, 2), strict=True):
        _model_file(path, seed=step, info={"step": step, "epoch": step // 2})
    info = average_models(paths, tmp_path / "avg.safetensors").info
    assert (info["step"], info["epoch"]) == (6, 3)


def test_a_run_folder_with_a_hand_named_file_averages_its_snapshots(tmp_path):
    run = tmp_path / "run"
    (run / "snapshots").mkdir(parents=True)
    for step in (2, 4):
        _model_file(run / "snapshots" / f"step-{step}.safetensors", seed=step)
    _model_file(run / "snapshots" / "step-final.safetensors", seed=9)
    result = CliRunner().invoke(
        app, ["average", str(run), "--out", str(tmp_path / "a.safetensors")]
    )
    assert result.exit_code == 0, result.output
    averaged = load_model(tmp_path / "a.safetensors").info["averaged"]
    assert averaged == [str(run / "snapshots" / f"step-{s}.safetensors") for s in (2, 4)]
