"""`asr info`: a model's facts come from its own header, for files and export folders."""

import json

import torch
from test_checkpoint import tiny
from test_streaming import TOK
from typer.testing import CliRunner

from asr.beam import LM_TUNING_KEY
from asr.checkpoint import load_model, save_model
from asr.confidence import CALIBRATION_KEY
from asr.features import FeatureStats
from asr.onnx_runtime import FORMAT
from cli import app


def info(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["info", *map(str, args)])
    return result.exit_code, result.output


def saved(tmp_path, encoder: str, half: bool, info_: dict | None = None):
    torch.manual_seed(0)
    model, cfg = tiny(encoder)
    stats = FeatureStats(torch.zeros(80), torch.ones(80))
    path = tmp_path / f"{encoder}.safetensors"
    save_model(path, model, cfg, TOK, stats, info=info_, half=half)
    return path, model


def test_info_reports_what_the_file_holds(tmp_path):
    record = {"step": 40, "epoch": 2, "valid": {"wer:dev.jsonl": 0.41234, "loss": 3.0},
              CALIBRATION_KEY: {"greedy": [1.2, -0.3], "beam": None, "fitted_on": "dev.jsonl"},
              LM_TUNING_KEY: {"lm_weight": 0.8, "word_bonus": -1.0, "tuned_on": "dev.jsonl",
                              "lm": "lm.arpa.gz", "wer": 0.35, "greedy_wer": 0.46}}  # fmt: skip
    path, model = saved(tmp_path, "gru", half=True, info_=record)
    code, out = info(path, "--json")
    assert code == 0, out
    facts = json.loads(out)
    assert facts["encoder"] == "gru" and facts["streams"] is True
    assert facts["parameters"] == model.num_parameters() and facts["stored"] == "float16"
    assert facts["training"] == {"step": 40, "epoch": 2, "validation": {"wer:dev.jsonl": 0.4123}}
    assert facts["confidence"] == {"calibrated_on": "dev.jsonl", "searches": ["greedy"]}
    assert facts["tokenizer"] == {"kind": "char", "symbols": len(TOK.symbols)}
    assert facts["lm_weights"]["lm_weight"] == 0.8
    code, out = info(path)
    assert (
        "  LM weights: 0.8, word bonus -1 (tuned on dev.jsonl with lm.arpa.gz: WER 0.46 "
        "greedy -> 0.35)" in out.splitlines()
    )

    offline, _ = saved(tmp_path, "blstm", half=False)
    code, out = info(offline)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"{offline}: model file"
    assert "streams: no" in out and "float32" in out and "raw scores" in out
    assert "LM weights: the defaults" in out


def test_info_on_the_bundled_model_and_a_bad_file(tmp_path):
    code, out = info()
    loaded = load_model(None)
    assert code == 0 and f"{loaded.model.num_parameters() / 1e6:.2f} M parameters" in out
    (tmp_path / "x.safetensors").write_text("nope")
    code, out = info(tmp_path / "x.safetensors")
    assert code == 1 and out.startswith(f"asr: error: {tmp_path / 'x.safetensors'}: not an asr")


def test_info_reads_an_export_folder(tmp_path):
    from asr.export import export

    path, _ = saved(tmp_path, "gru", half=False)
    export(path, tmp_path / "onnx")
    code, out = info(tmp_path / "onnx", "--json")
    assert code == 0, out
    facts = json.loads(out)
    assert facts["kind"] == "onnx export" and facts["streams"] is True
    assert "model.onnx" in facts["files"] and "parameters" not in facts
    assert facts["lm"] is None and "decoding: greedy" in info(tmp_path / "onnx")[1]
    code, out = info(tmp_path / "onnx" / "model.onnx", "--json")  # a file in the folder: the same
    assert code == 0 and json.loads(out) == facts, out


def test_info_on_an_export_folder_with_a_broken_header_is_one_line(tmp_path):
    folder = tmp_path / "onnx"
    folder.mkdir()
    headers = (
        ("{not json", "not valid JSON"),
        (json.dumps({"format": FORMAT}), "no config or tokenizer"),
        (json.dumps({"format": FORMAT, "config": {"model": {}}, "tokenizer": {}}),
         "bad export header (KeyError"),
    )  # fmt: skip
    for text, reason in headers:
        (folder / "model.json").write_text(text)
        code, out = info(folder)
        assert code == 1
        lines = out.strip().splitlines()
        assert len(lines) == 1, out
        assert lines[0].startswith(f"asr: error: {folder / 'model.json'}: {reason}")
