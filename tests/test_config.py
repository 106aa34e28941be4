import pytest

from asr.config import Config, config_from_dict, load_config
from asr.errors import AsrError


def test_yaml_configs_load(tmp_path):
    for name in ("blstm", "gru"):
        cfg = load_config(f"configs/{name}.yaml")
        assert cfg.model.encoder == name


def test_unknown_key_is_an_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  hiden: 3\n")
    with pytest.raises(AsrError, match="unknown config key 'model.hiden'") as err:
        load_config(path)
    assert err.value.where == str(path)


def test_wrong_type_is_an_error():
    with pytest.raises(AsrError, match="'train.epochs' must be int"):
        config_from_dict({"train": {"epochs": "many"}})
    with pytest.raises(AsrError, match="'train.epochs' must be int"):
        config_from_dict({"train": {"epochs": True}})


def test_overrides_and_int_to_float(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  lr: 1\n")
    cfg = load_config(path, ["train.epochs=3", "model.encoder=gru", "augment.speeds=[1.0]"])
    assert cfg.train.lr == 1.0 and isinstance(cfg.train.lr, float)
    assert (cfg.train.epochs, cfg.model.encoder, cfg.augment.speeds) == (3, "gru", [1.0])
    with pytest.raises(AsrError, match="unknown config key 'train.nope'") as err:
        load_config(path, ["train.nope=1"])
    assert err.value.where == "--set"  # the file is fine: the override is to blame
    with pytest.raises(AsrError, match="expected KEY=VALUE"):
        load_config(path, ["train.epochs"])


def test_round_trip_through_dict():
    cfg = Config()
    assert config_from_dict(cfg.to_dict()) == cfg


def test_exponent_without_a_dot_is_a_float():
    """YAML 1.1 reads `5e-4` as a string; as a float field it means 0.0005."""
    cfg = load_config("configs/blstm.yaml", ["train.lr=5e-4"])
    assert cfg.train.lr == 5e-4
    with pytest.raises(AsrError, match="must be float") as err:
        load_config("configs/blstm.yaml", ["train.lr=fast"])
    assert err.value.where == "--set"


def test_a_bad_file_is_blamed_even_with_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: many\n")
    with pytest.raises(AsrError, match="'train.epochs' must be int") as err:
        load_config(path, ["train.lr=1e-3"])
    assert err.value.where == str(path)


def test_the_augmentation_warp_range_is_a_config_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("augment:\n  warp: [0.8, 1.2]\n")
    assert load_config(path).augment.warp == [0.8, 1.2]
    assert load_config(path, ["augment.warp=[1.0, 1.0]"]).augment.warp == [1.0, 1.0]
    assert Config().augment.warp == [0.88, 1.12]


@pytest.mark.parametrize(
    "override, key",
    [
        ("train.batch_seconds=0", "train.batch_seconds"),  # trained one utterance a step
        ("train.epochs=0", "train.epochs"),  # trained nothing and said so only as WER inf
        ("train.grad_clip=-1", "train.grad_clip"),  # scaled every gradient by a negative factor
        ("train.lr=-1", "train.lr"),
        ("model.dropout=2", "model.dropout"),
        ("model.hidden=0", "model.hidden"),
        ("features.n_mels=0", "features.n_mels"),
        ("augment.warp=[1.2, 0.8]", "augment.warp"),
        ("augment.noise_prob=1.5", "augment.noise_prob"),
        ("augment.speeds=[]", "augment.speeds"),
    ],
)
def test_a_value_out_of_range_is_refused_with_its_key(override, key):
    with pytest.raises(AsrError, match=f"'{key}' must be") as err:
        load_config("configs/gru.yaml", [override])
    assert err.value.where == "--set"


def test_a_hop_under_one_sample_or_over_the_window_is_refused():
    for hop in ("0.01", "30"):
        with pytest.raises(AsrError, match="the hop must be from 1 sample to the window"):
            load_config("configs/gru.yaml", [f"features.hop_ms={hop}"])
    assert load_config("configs/gru.yaml", ["features.hop_ms=25"]).features.hop_ms == 25


@pytest.mark.parametrize(
    "override, key",
    [
        ("features.win_ms=.inf", "features.win_ms"),  # an OverflowError traceback
        ("train.weight_decay=.inf", "train.weight_decay"),
        ("train.lr=.nan", "train.lr"),
        ("augment.speeds=[1.0, .inf]", "augment.speeds"),
        ("train.lr=1e999", "train.lr"),  # YAML 1.1's string, as a float: inf
    ],
)
def test_numbers_must_be_finite(override, key):
    with pytest.raises(AsrError, match=f"'{key}' must be a finite number") as err:
        load_config("configs/gru.yaml", [override])
    assert err.value.where == "--set"


def test_an_override_that_is_not_yaml_is_one_line():
    with pytest.raises(AsrError, match=r"augment.speeds: invalid value \(while parsing") as err:
        load_config("configs/gru.yaml", ["augment.speeds=[1.0"])
    assert err.value.where == "--set"


def test_too_few_mel_bands_for_the_front_end_are_refused():
    import torch

    from asr.model import CTCModel

    with pytest.raises(AsrError, match="'features.n_mels' must be at least 7"):
        load_config("configs/gru.yaml", ["features.n_mels=6"])
    cfg = load_config("configs/gru.yaml", ["features.n_mels=7"])  # the least that works
    model = CTCModel(cfg.model, 7, 10)
    assert model(torch.randn(1, 20, 7), torch.tensor([20]))[0].shape == (1, 4, 10)


def test_an_unknown_encoder_is_refused_naming_the_config_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  encoder: lstm\n")
    with pytest.raises(AsrError, match="'model.encoder' must be one of blstm, gru, mamba") as err:
        load_config(path)
    assert err.value.where == str(path)


def test_truncated_bptt_needs_a_causal_encoder():
    with pytest.raises(AsrError, match="'train.tbptt_frames' needs a causal encoder"):
        load_config("configs/blstm.yaml", ["train.tbptt_frames=50"])
    assert load_config("configs/gru.yaml", ["train.tbptt_frames=50"]).train.tbptt_frames == 50


def test_unknown_keys_of_mixed_types_are_reported():
    with pytest.raises(AsrError, match="unknown config key 'train.1'"):
        config_from_dict({"train": {1: 2, "foo": 3}})


def test_a_config_that_is_not_utf8_is_one_line_naming_it(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"train:\n  epochs: 3  # r\xe9sum\xe9\n")
    with pytest.raises(AsrError) as err:
        load_config(path)
    assert str(err.value) == f"{path}:2: not UTF-8 text (byte 0xe9 at offset 23)"


def test_a_config_with_a_bom_or_bad_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"\xef\xbb\xbftrain:\n  epochs: 3\n")  # as Windows editors save it
    assert load_config(path).train.epochs == 3
    path.write_text("train: [1\n")
    with pytest.raises(AsrError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: invalid YAML (while parsing a flow sequence)"


def test_the_least_mel_bands_are_the_least_frames():
    """MIN_MELS restates asr.model.MIN_FRAMES (importing it would be circular)."""
    from asr.config import MIN_MELS
    from asr.model import MIN_FRAMES

    assert MIN_MELS == MIN_FRAMES
