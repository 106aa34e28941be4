import os
import stat

import pytest
import torch

from asr.checkpoint import atomic_write, load_model, save_model
from asr.config import Config, ModelConfig
from asr.errors import AsrError
from asr.features import FeatureStats
from asr.model import CTCModel
from asr.text import CharTokenizer


def tiny(encoder="blstm", hidden=16) -> tuple[CTCModel, Config]:
    cfg = Config(model=ModelConfig(encoder=encoder, hidden=hidden, layers=1))
    return CTCModel(cfg.model, 80, 29).eval(), cfg


def test_round_trip_gives_identical_outputs(tmp_path):
    model, cfg = tiny()
    stats = FeatureStats(torch.randn(80), torch.rand(80) + 0.5)
    save_model(tmp_path / "m.safetensors", model, cfg, CharTokenizer(), stats, {"epoch": 3})
    loaded = load_model(tmp_path / "m.safetensors")
    x, lens = torch.randn(2, 50, 80), torch.tensor([50, 40])
    assert torch.equal(model(x, lens)[0], loaded.model(x, lens)[0])
    assert loaded.config == cfg and loaded.info == {"epoch": 3}
    assert torch.equal(loaded.stats.mean, stats.mean) and torch.equal(loaded.stats.std, stats.std)
    assert loaded.tokenizer.symbols == CharTokenizer().symbols


def test_atomic_write_keeps_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    atomic_write(path, b"old")

    def crash(*args):
        raise KeyboardInterrupt  # a kill between write and rename

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, b"new contents")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temp file left behind


def test_atomic_write_refuses_to_replace_a_pipe_or_device(tmp_path):
    """The rename would swap a pipe or device (/dev/stdout; as root even /dev/full) for a
    plain file: refused, and the node is left as it was."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    link = tmp_path / "link"
    link.symlink_to(pipe)
    for target in (pipe, link):
        with pytest.raises(AsrError, match="not a regular file") as err:
            atomic_write(target, b"model")
        assert err.value.where == str(target)
    assert stat.S_ISFIFO(pipe.stat().st_mode) and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "pipe"]


def test_missing_corrupt_and_mismatched_checkpoints(tmp_path):
    with pytest.raises(AsrError, match="no such model file"):
        load_model(tmp_path / "none.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}")
    with pytest.raises(AsrError, match="not an asr model file"):
        load_model(junk)
    model, cfg = tiny(hidden=16)
    cfg.model.hidden = 24  # header now disagrees with the stored weights
    save_model(tmp_path / "bad.safetensors", model, cfg, CharTokenizer(), FeatureStats.identity(80))
    with pytest.raises(AsrError, match="does not match the model") as err:
        load_model(tmp_path / "bad.safetensors")
    assert err.value.where == str(tmp_path / "bad.safetensors")


def test_checkpoint_is_safetensors_without_pickle(tmp_path):
    model, cfg = tiny()
    save_model(tmp_path / "m.safetensors", model, cfg, CharTokenizer(), FeatureStats.identity(80))
    from safetensors import safe_open

    with safe_open(str(tmp_path / "m.safetensors"), "pt") as f:
        assert "asr" in f.metadata() and "stats.mean" in set(f.keys())


def test_bundled_names_stand_for_the_bundled_files_unless_a_file_has_that_name(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert load_model("streaming").config.model.encoder == "gru"
    assert load_model("default").config.model.encoder == "blstm"
    model, cfg = tiny("gru")
    save_model(tmp_path / "default", model, cfg, CharTokenizer(), FeatureStats.identity(80), {})
    assert load_model("default").config.model.hidden == 16  # the file here wins
    with pytest.raises(AsrError, match="no such model file"):
        load_model("streaming.safetensors")


def test_init_takes_a_bundled_name(tmp_path, monkeypatch):
    from asr.config import load_config
    from asr.train import _initialize

    config = load_config("configs/gru.yaml")
    model = CTCModel(config.model, config.features.n_mels, 29)
    monkeypatch.chdir(tmp_path)
    bundled = load_model("streaming")  # what train() reads for --init streaming
    stats = _initialize(bundled, "streaming", config, model)
    assert torch.equal(stats.mean, bundled.stats.mean)
    for (name, a), b in zip(bundled.model.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name


def test_snapshot_files_skip_names_without_a_step(tmp_path):
    from asr.checkpoint import snapshot_files

    folder = tmp_path / "snapshots"
    folder.mkdir()
    for name in ("step-10.safetensors", "step-final.safetensors", "step-9.safetensors",
                 "step-3-copy.safetensors"):  # fmt: skip
        (folder / name).write_bytes(b"")
    assert [p.name for p in snapshot_files(tmp_path)] == [
        "step-9.safetensors",
        "step-10.safetensors",
    ]
