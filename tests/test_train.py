"""Training behaviour on tiny models and synthetic 'speech' (one tone per character)."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from asr.checkpoint import load_model
from asr.config import AugmentConfig, Config, ModelConfig, TrainConfig
from asr.errors import AsrError
from asr.evaluate import score
from asr.features import FeatureSettings
from asr.train import STATE_FILE, selection_score, train
from asr.transcribe import Transcriber

RATE = 16000
TEXTS = ["abc", "cab ba", "bad cab", "a dab", "dcba"]


def tone_speech(text: str) -> np.ndarray:
    """Each letter a 100 ms tone of its own pitch, words separated by 100 ms of silence."""
    pieces = [np.zeros(1600)]
    for char in text:
        if char == " ":
            pieces.append(np.zeros(1600))
            continue
        freq = 300 + 350 * (ord(char) - ord("a"))
        t = np.arange(1600) / RATE
        pieces.append(0.3 * np.sin(2 * np.pi * freq * t))
    pieces.append(np.zeros(1600))
    return np.concatenate(pieces).astype(np.float32)


@pytest.fixture
def tone_manifest(tmp_path):
    lines = []
    for i, text in enumerate(TEXTS):
        audio = tone_speech(text)
        sf.write(str(tmp_path / f"{i}.wav"), audio, RATE)
        lines.append(json.dumps({"audio": f"{i}.wav", "text": text, "duration": len(audio) / RATE}))
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def tiny_config(**train) -> Config:
    no_augment = AugmentConfig(speeds=[1.0], gain_db=[0.0, 0.0], noise_prob=0, reverb_prob=0,
                               bandlimit_prob=0, freq_masks=0, time_masks=0)  # fmt: skip
    return Config(
        model=ModelConfig(encoder="blstm", hidden=48, layers=1, dropout=0.0, frontend_channels=8),
        augment=no_augment,
        train=TrainConfig(
            **{"epochs": 1, "batch_seconds": 3.0, "lr": 3e-3, "warmup_steps": 5, **train}
        ),
    )


def test_overfits_a_handful_of_utterances(tone_manifest, tmp_path):
    cfg = tiny_config(
        epochs=300, batch_seconds=100.0, lr=5e-3, warmup_steps=100, checkpoint_every=1000
    )
    cfg.model.hidden, cfg.model.frontend_channels = 96, 16
    result = train(cfg, tone_manifest, [tone_manifest], tmp_path / "run", show_progress=False)
    assert result.history[-1][f"wer:{tone_manifest}"] == 0.0
    transcriber = Transcriber(load_model(tmp_path / "run" / "best.safetensors"))
    hyps = [transcriber.transcribe_file(tmp_path / f"{i}.wav").text for i in range(len(TEXTS))]
    assert score(TEXTS, hyps).wer == 0.0
    assert (tmp_path / "run" / "training_curves.png").stat().st_size > 1000


def test_word_pieces_learnt_from_the_transcripts_overfit_too(tone_manifest, tmp_path):
    """model.units: bpe learns pieces from the training text (asr/bpe.py), trains on them,
    and the model file transcribes with them; a resumed run keeps the pieces it began with."""
    pytest.importorskip("sentencepiece")
    cfg = tiny_config(
        epochs=300, batch_seconds=100.0, lr=5e-3, warmup_steps=100, checkpoint_every=1000
    )
    cfg.model.hidden, cfg.model.frontend_channels = 96, 16
    cfg.model.units, cfg.model.bpe_size = "bpe", 12
    result = train(cfg, tone_manifest, [tone_manifest], tmp_path / "run", show_progress=False)
    assert result.history[-1][f"wer:{tone_manifest}"] == 0.0
    loaded = load_model(tmp_path / "run" / "best.safetensors")
    assert loaded.tokenizer.kind == "bpe" and any(len(s) > 1 for s in loaded.tokenizer.symbols[2:])
    transcriber = Transcriber(loaded)
    hyps = [transcriber.transcribe_file(tmp_path / f"{i}.wav").text for i in range(len(TEXTS))]
    assert score(TEXTS, hyps).wer == 0.0
    cfg.train.epochs = 301  # one more epoch: the resumed run must not learn other pieces
    train(cfg, tone_manifest, [], tmp_path / "run", resume=True, show_progress=False)
    resumed = load_model(tmp_path / "run" / "last.safetensors").tokenizer
    assert resumed.to_dict() == loaded.tokenizer.to_dict()


def test_kill_and_resume_equals_uninterrupted(tone_manifest, tmp_path):
    steps = 7  # crosses an epoch boundary: 5 utterances in batches of ~3 s
    straight = train(
        tiny_config(epochs=5, max_steps=steps),
        tone_manifest,
        [],
        tmp_path / "a",
        show_progress=False,
    )
    train(
        tiny_config(epochs=5, max_steps=3), tone_manifest, [], tmp_path / "b", show_progress=False
    )
    resumed = train(
        tiny_config(epochs=5, max_steps=steps),
        tone_manifest,
        [],
        tmp_path / "b",
        resume=True,
        show_progress=False,
    )
    assert straight.step == resumed.step == steps
    a = torch.load(tmp_path / "a" / STATE_FILE, weights_only=True)
    b = torch.load(tmp_path / "b" / STATE_FILE, weights_only=True)
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert a["optimizer"]["state"][0]["exp_avg"].equal(b["optimizer"]["state"][0]["exp_avg"])


def test_a_kill_during_the_end_of_epoch_validation_resumes_like_no_kill(
    tone_manifest, tmp_path, monkeypatch
):
    """Step 2 ends epoch 1 and is a checkpoint step: the state is saved before the epoch's
    validation; a kill there once left a run whose every --resume crashed (no `loss`)."""
    import asr.train as training

    cfg = tiny_config(epochs=2, checkpoint_every=2)  # 2 batches an epoch
    straight = train(cfg, tone_manifest, [tone_manifest], tmp_path / "a", show_progress=False)
    real = training._validate

    def killed(*args, **kwargs):
        monkeypatch.setattr(training, "_validate", real)  # only this once
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "_validate", killed)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tone_manifest, [tone_manifest], tmp_path / "b", show_progress=False)
    assert torch.load(tmp_path / "b" / STATE_FILE, weights_only=True)["step"] == 2
    resumed = train(cfg, tone_manifest, [tone_manifest], tmp_path / "b", resume=True,
                    show_progress=False)  # fmt: skip
    assert straight.step == resumed.step == 4
    same = ("epoch", "step", "loss", f"wer:{tone_manifest}", f"cer:{tone_manifest}")
    assert [[r[k] for k in same] for r in resumed.history] == \
        [[r[k] for k in same] for r in straight.history]  # fmt: skip
    a = torch.load(tmp_path / "a" / STATE_FILE, weights_only=True)
    b = torch.load(tmp_path / "b" / STATE_FILE, weights_only=True)
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key


def test_stopping_at_max_steps_writes_the_final_weights(tone_manifest, tmp_path):
    """max_steps inside an epoch is an end like the epoch's: validated, last (and best)
    written, so `asr train` never names a model file that is not there."""
    from typer.testing import CliRunner

    from cli import app

    result = train(tiny_config(epochs=5, max_steps=3), tone_manifest, [tone_manifest],
                   tmp_path / "a", show_progress=False)  # fmt: skip
    assert [(r["epoch"], r["step"]) for r in result.history] == [(1, 2), (1.5, 3)]
    last = load_model(tmp_path / "a" / "last.safetensors")
    saved = torch.load(tmp_path / "a" / STATE_FILE, weights_only=True)
    for key, value in last.model.state_dict().items():
        assert torch.equal(value, saved["model"][key]), key
    assert last.info["step"] == 3
    again = train(tiny_config(epochs=5, max_steps=3), tone_manifest, [tone_manifest],
                  tmp_path / "a", resume=True, show_progress=False)  # fmt: skip
    assert len(again.history) == 2  # nothing left to do: not validated twice

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config(max_steps=1, calibrate=False).to_dict()))
    out = CliRunner().invoke(app, ["train", str(config), "--train", str(tone_manifest),
                                   "--valid", str(tone_manifest), "--out", str(tmp_path / "b")])  # fmt: skip
    assert out.exit_code == 0, out.output
    named = out.output.strip().splitlines()[-1].rpartition("model: ")[2]
    assert load_model(named).info["step"] == 1
    assert load_model(tmp_path / "b" / "last.safetensors").info["step"] == 1


def test_resume_remembers_the_best_cer(tone_manifest, tmp_path, monkeypatch):
    """WER ties at 1.0 early on and CER breaks the tie: a resumed run that forgot the best
    CER let a worse model replace best.safetensors."""
    import asr.train as training

    cers = []
    monkeypatch.setattr(training, "_validate", lambda model, valid, *rest: {
        **{f"wer:{n}": 1.0 for n in valid}, **{f"cer:{n}": cers.pop(0) for n in valid}
    })  # fmt: skip
    cers[:] = [0.5, 0.9]  # the second epoch is worse
    train(tiny_config(epochs=2), tone_manifest, [tone_manifest], tmp_path / "a",
          show_progress=False)  # fmt: skip
    cers[:] = [0.5]
    train(tiny_config(epochs=1), tone_manifest, [tone_manifest], tmp_path / "b",
          show_progress=False)  # fmt: skip
    cers[:] = [0.9]
    train(tiny_config(epochs=2), tone_manifest, [tone_manifest], tmp_path / "b", resume=True,
          show_progress=False)  # fmt: skip
    for run in ("a", "b"):
        assert load_model(tmp_path / run / "best.safetensors").info["step"] == 2, run


def test_resume_refuses_a_different_model(tone_manifest, tmp_path):
    train(tiny_config(max_steps=1), tone_manifest, [], tmp_path / "c", show_progress=False)
    other = tiny_config(max_steps=2)
    other.model.hidden = 32
    with pytest.raises(AsrError, match="different model or feature config") as err:
        train(other, tone_manifest, [], tmp_path / "c", resume=True, show_progress=False)
    assert err.value.where == str(tmp_path / "c" / STATE_FILE)
    other = tiny_config(max_steps=2)
    other.features = FeatureSettings(hop_ms=20)  # the saved statistics are of 10 ms frames
    with pytest.raises(AsrError, match="different model or feature config") as err:
        train(other, tone_manifest, [], tmp_path / "c", resume=True, show_progress=False)
    assert err.value.where == str(tmp_path / "c" / STATE_FILE)


def test_resume_refuses_other_optimizer_settings(tone_manifest, tmp_path):
    """The restored optimizer and schedule would silently keep the run's own."""
    train(tiny_config(max_steps=1), tone_manifest, [], tmp_path / "c", show_progress=False)
    for key, value in (("lr", 1e-4), ("weight_decay", 0.5)):
        with pytest.raises(AsrError, match=f"train.{key}=.*keeps its optimizer") as err:
            train(tiny_config(max_steps=2, **{key: value}), tone_manifest, [], tmp_path / "c",
                  resume=True, show_progress=False)  # fmt: skip
        assert err.value.where == str(tmp_path / "c" / STATE_FILE)
    resumed = train(tiny_config(max_steps=2, grad_clip=1.0), tone_manifest, [], tmp_path / "c",
                    resume=True, show_progress=False)  # fmt: skip
    assert resumed.step == 2  # other training settings may change


def test_resume_with_other_batching_mid_epoch_is_refused(tone_manifest, tmp_path):
    train(tiny_config(epochs=2, max_steps=3, batch_seconds=1.0), tone_manifest, [],
          tmp_path / "c", show_progress=False)  # fmt: skip
    with pytest.raises(AsrError, match="saved at batch 3 of an epoch that now has 1"):
        train(tiny_config(epochs=2, batch_seconds=100.0), tone_manifest, [], tmp_path / "c",
              resume=True, show_progress=False)  # fmt: skip


def test_warm_up_reaches_the_peak_at_its_last_step():
    """Step 1 trains at 1/W of the peak, step W at the peak, then the rate decays; each
    optimizer step had once the rate meant for the step before (the first two shared one)."""
    from asr.train import lr_schedule

    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    scheduler = lr_schedule(optimizer, warmup=5)
    used = []
    for _ in range(7):
        used.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = [0.2, 0.4, 0.6, 0.8, 1.0, (5 / 6) ** 0.5, (5 / 7) ** 0.5]
    assert used == pytest.approx(expected)


def test_a_fresh_start_over_a_run_is_refused_and_the_run_kept(tone_manifest, tmp_path):
    train(tiny_config(max_steps=1), tone_manifest, [], tmp_path / "c", show_progress=False)
    kept = {p.name: p.read_bytes() for p in (tmp_path / "c").iterdir() if p.is_file()}
    with pytest.raises(AsrError, match="holds a training run .* add --resume") as err:
        train(tiny_config(max_steps=2), tone_manifest, [], tmp_path / "c", show_progress=False)
    assert err.value.where == str(tmp_path / "c")
    assert {p.name: p.read_bytes() for p in (tmp_path / "c").iterdir() if p.is_file()} == kept


def test_resume_without_state_is_an_error(tone_manifest, tmp_path):
    with pytest.raises(AsrError, match="nothing to resume"):
        train(
            tiny_config(), tone_manifest, [], tmp_path / "empty", resume=True, show_progress=False
        )


def test_valid_every_scores_mid_epoch_and_keeps_the_best(tone_manifest, tmp_path):
    # 3.5 s of audio in 3 s batches: 2 batches per epoch, so every other step is mid-epoch.
    cfg = tiny_config(epochs=2, valid_every=1, keep_snapshots=2)
    result = train(cfg, tone_manifest, [tone_manifest], tmp_path / "v", show_progress=False)
    epochs = [r["epoch"] for r in result.history]
    assert epochs == [0.5, 1, 1.5, 2], epochs
    # Every validation writes a snapshot; only the newest two are kept, the last one is last.
    snapshots = sorted(p.name for p in (tmp_path / "v" / "snapshots").iterdir())
    assert snapshots == ["step-3.safetensors", "step-4.safetensors"]
    last = (tmp_path / "v" / "last.safetensors").read_bytes()
    assert (tmp_path / "v" / "snapshots" / "step-4.safetensors").read_bytes() == last
    assert all(f"wer:{tone_manifest}" in r for r in result.history)
    assert result.best_wer == min(r[f"wer:{tone_manifest}"] for r in result.history)
    best = load_model(tmp_path / "v" / "best.safetensors")
    assert best.config.model.hidden == 48
    chosen = min(result.history, key=lambda r: selection_score(r, [tone_manifest]))
    assert best.info["step"] == chosen["step"]


def test_best_checkpoint_ties_on_wer_go_to_the_lower_cer():
    """Early on every WER is 1.0 while CER falls: the first step must not win the tie."""
    early = {"loss": 3.0, "wer:dev": 1.0, "cer:dev": 0.99}
    later = {"loss": 2.5, "wer:dev": 1.0, "cer:dev": 0.70}
    assert selection_score(later, ["dev"]) < selection_score(early, ["dev"])
    assert selection_score({"loss": 2.0, "wer:dev": 0.9, "cer:dev": 0.8}, ["dev"]) < \
        selection_score(later, ["dev"])  # fmt: skip
    assert selection_score(later, []) < selection_score(early, [])  # no set: lower loss wins


def test_init_starts_from_a_model_file_and_refuses_another_shape(tone_manifest, tmp_path):
    first = train(tiny_config(epochs=3), tone_manifest, [tone_manifest], tmp_path / "a",
                  show_progress=False)  # fmt: skip
    start = load_model(tmp_path / "a" / "best.safetensors")
    cfg = tiny_config(epochs=1, lr=1e-12, warmup_steps=1)  # nearly frozen: weights stay put
    train(cfg, tone_manifest, [tone_manifest], tmp_path / "b", show_progress=False,
          init=tmp_path / "a" / "best.safetensors")  # fmt: skip
    tuned = load_model(tmp_path / "b" / "last.safetensors")
    assert torch.equal(tuned.stats.mean, start.stats.mean)
    for (name, a), b in zip(start.model.state_dict().items(), tuned.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name
    assert first.step > 0
    other = tiny_config(epochs=1)
    other.model.hidden = 32
    with pytest.raises(AsrError, match="different model or feature config"):
        train(other, tone_manifest, [], tmp_path / "c", show_progress=False,
              init=tmp_path / "a" / "best.safetensors")  # fmt: skip
    pieces = tiny_config(epochs=1, lr=1e-12, warmup_steps=1)
    pieces.model.units, pieces.model.bpe_size = "bpe", 12  # letters to pieces: a new head
    train(pieces, tone_manifest, [], tmp_path / "d", show_progress=False,
          init=tmp_path / "a" / "best.safetensors")  # fmt: skip
    moved = load_model(tmp_path / "d" / "last.safetensors")
    assert moved.tokenizer.kind == "bpe" and moved.model.head.out_features == len(moved.tokenizer)
    for (name, a), b in zip(start.model.state_dict().items(), moved.model.state_dict().values()):
        if not name.startswith("head."):
            assert torch.allclose(a, b, atol=1e-6), name


def test_batch_workers_train_exactly_like_the_training_loop(tone_manifest, tmp_path):
    """Workers build the same augmented batches in the same order: identical weights."""
    augmented = {"speeds": [0.9, 1.0, 1.1], "noise_prob": 0.5, "freq_masks": 1, "time_masks": 1}
    runs = {}
    for workers in (0, 2):
        cfg = tiny_config(epochs=3, max_steps=5, workers=workers)
        for key, value in augmented.items():
            setattr(cfg.augment, key, value)
        train(cfg, tone_manifest, [], tmp_path / f"w{workers}", show_progress=False)
        runs[workers] = torch.load(tmp_path / f"w{workers}" / STATE_FILE, weights_only=True)
    assert runs[0]["step"] == runs[2]["step"] == 5
    for key, value in runs[0]["model"].items():
        assert torch.equal(value, runs[2]["model"][key]), key


def test_training_device_is_checked_before_training(tone_manifest, tmp_path):
    from asr.train import training_device

    assert training_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(AsrError, match="not a device"):
        training_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(AsrError, match="no CUDA GPU"):
            train(
                tiny_config(device="cuda"), tone_manifest, [], tmp_path / "r", show_progress=False
            )


def test_a_broken_decoding_pool_falls_back_to_decoding_in_the_workers(
    tone_manifest, monkeypatch, capsys
):
    """Decoding ahead is an optimisation: if its pool dies, training still gets its batches."""
    from concurrent.futures.process import BrokenProcessPool

    import asr.batch_loader as loader
    from asr.dataset import BatchMaker
    from asr.features import FeatureSettings
    from asr.manifest import read_manifest
    from asr.text import CharTokenizer

    class DyingPool:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def map(self, fn, jobs):
            raise BrokenProcessPool("a process in the pool was terminated abruptly")

    monkeypatch.setattr(loader, "ProcessPoolExecutor", DyingPool)
    maker = BatchMaker(read_manifest(tone_manifest), FeatureSettings(), CharTokenizer())
    loader.preload(maker, workers=2)
    assert "batch workers will decode as they go" in capsys.readouterr().err
    assert maker.cache.paths() == []
    stats = maker.compute_stats()
    batches = list(loader.step_batches(maker, [(1, [0, 1]), (2, [2])], stats, None, workers=2))
    assert [b.feats.shape[0] for b in batches] == [2, 1]


def test_feature_stats_read_at_most_limit_utterances(tone_manifest):
    """Every ceil(n / limit)-th utterance: 5 with limit 2 reads 2 (a floor step read 3)."""
    from asr.dataset import BatchMaker
    from asr.features import FeatureSettings
    from asr.manifest import read_manifest
    from asr.text import CharTokenizer

    utterances = read_manifest(tone_manifest)
    for limit, read in ((2, [0, 3]), (4, [0, 2, 4]), (5, [0, 1, 2, 3, 4])):
        maker = BatchMaker(utterances, FeatureSettings(), CharTokenizer())
        maker.compute_stats(limit=limit)
        assert maker.cache.paths() == [str(utterances[i].audio) for i in read]


def test_preload_fills_the_cache_with_what_the_loop_would_decode(tone_manifest):
    import asr.batch_loader as loader
    from asr.dataset import BatchMaker
    from asr.features import FeatureSettings
    from asr.manifest import read_manifest
    from asr.text import CharTokenizer

    utterances = read_manifest(tone_manifest)
    ahead = BatchMaker(utterances, FeatureSettings(), CharTokenizer())
    loader.preload(ahead, workers=2)
    assert sorted(ahead.cache.paths()) == sorted(str(u.audio) for u in utterances)
    lazy = BatchMaker(utterances, FeatureSettings(), CharTokenizer())
    for u in utterances:
        assert torch.equal(ahead.cache.get(u.audio), lazy.cache.get(u.audio))


def test_decoding_ahead_leaves_no_file_descriptor_per_recording(tmp_path):
    """Tensors sent between processes each keep a file descriptor open in the receiver: a
    21,000-file corpus once ran past a 20,000 limit ("Too many open files") on a GPU machine.
    Decoded audio comes back as plain arrays, so the count stays flat however large the corpus."""
    import os

    import asr.batch_loader as loader
    from asr.dataset import BatchMaker
    from asr.features import FeatureSettings
    from asr.manifest import Utterance
    from asr.text import CharTokenizer

    utterances = []
    for i in range(300):
        sf.write(str(tmp_path / f"{i}.wav"), np.full(160, 0.01 * (i % 7), np.float32), RATE)
        utterances.append(Utterance(tmp_path / f"{i}.wav", "a", 0.01, {}))
    maker = BatchMaker(utterances, FeatureSettings(), CharTokenizer())
    before = len(os.listdir("/proc/self/fd"))
    loader.preload(maker, workers=2)
    assert len(maker.cache.paths()) == 300
    assert len(os.listdir("/proc/self/fd")) - before < 30


def test_a_bad_file_met_while_decoding_ahead_is_named(tone_manifest):
    """An unreadable recording fails the run with its name, from inside the worker pool."""
    import asr.batch_loader as loader
    from asr.dataset import BatchMaker
    from asr.features import FeatureSettings
    from asr.manifest import read_manifest
    from asr.text import CharTokenizer

    (tone_manifest.parent / "2.wav").write_bytes(b"RIFF not really a wave file")
    maker = BatchMaker(read_manifest(tone_manifest), FeatureSettings(), CharTokenizer())
    with pytest.raises(AsrError, match=r"2\.wav: cannot decode audio"):
        loader.preload(maker, workers=2)


def test_a_bad_file_met_by_a_batch_worker_is_named(tone_manifest):
    """Without decoding ahead, the worker that meets the file reports it as one line."""
    import asr.batch_loader as loader
    from asr.dataset import BatchMaker
    from asr.features import FeatureSettings
    from asr.manifest import read_manifest
    from asr.text import CharTokenizer

    utterances = read_manifest(tone_manifest)
    stats = BatchMaker(utterances, FeatureSettings(), CharTokenizer()).compute_stats()
    (tone_manifest.parent / "3.wav").write_bytes(b"RIFF not really a wave file")
    maker = BatchMaker(utterances, FeatureSettings(), CharTokenizer())  # nothing decoded yet
    plan = [(1, [0, 1]), (2, [2, 3])]
    with pytest.raises(AsrError, match=r"3\.wav: cannot decode audio"):
        list(loader.step_batches(maker, plan, stats, None, workers=2))


def test_training_says_what_trains_where(tone_manifest, tmp_path, capsys):
    train(tiny_config(max_steps=1), tone_manifest, [], tmp_path / "r", show_progress=True)
    out = capsys.readouterr().out
    assert "M parameters on cpu (CPU), batches built in the loop, 5 utterances" in out


def test_missing_or_corrupt_recordings_stop_training_before_it_starts(tone_manifest, tmp_path):
    """Every header is read first: a bad file deep in a corpus costs seconds, not a run."""
    (tone_manifest.parent / "1.wav").unlink()
    (tone_manifest.parent / "3.wav").write_bytes(b"RIFF not really a wave file")
    out = tmp_path / "run"
    with pytest.raises(AsrError) as err:
        train(tiny_config(), tone_manifest, [], out, show_progress=False)
    assert err.value.where == str(tone_manifest)
    assert err.value.reason.startswith("2 unreadable recordings, the first: ")
    assert "1.wav: no such audio file" in err.value.reason
    assert not out.exists()


def test_a_zero_length_validation_recording_is_named_before_training(tone_manifest, tmp_path):
    sf.write(str(tmp_path / "empty.wav"), np.zeros(0, np.float32), RATE)
    valid = tmp_path / "valid.jsonl"
    valid.write_text(json.dumps({"audio": "empty.wav", "text": "abc", "duration": 1.0}) + "\n")
    with pytest.raises(AsrError, match=r"valid\.jsonl: .*empty\.wav: audio has zero length"):
        train(tiny_config(), tone_manifest, [valid], tmp_path / "run", show_progress=False)


def test_training_ends_by_calibrating_the_best_model_unless_told_not_to(
    tone_manifest, tmp_path, monkeypatch
):
    import asr.train as training

    calls = []
    monkeypatch.setattr(training, "_calibrate_best", lambda *args: calls.append(args[:2]))
    train(tiny_config(), tone_manifest, [tone_manifest], tmp_path / "a", show_progress=False)
    assert calls == [(tmp_path / "a" / "best.safetensors", tone_manifest)]
    train(tiny_config(calibrate=False), tone_manifest, [tone_manifest], tmp_path / "b",
          show_progress=False)  # fmt: skip
    train(tiny_config(), tone_manifest, [], tmp_path / "c", show_progress=False)  # no valid set
    assert len(calls) == 1


def test_calibrating_best_fits_greedy_in_place_or_leaves_it_raw(tmp_path, capsys):
    import shutil

    from conftest import SAMPLES_DIR, bundled_samples

    from asr.bundled import DEFAULT_MODEL
    from asr.train import _calibrate_best

    best = tmp_path / "best.safetensors"
    shutil.copy(DEFAULT_MODEL, best)
    rows = [{**s, "audio": str(SAMPLES_DIR / s["audio"])} for s in bundled_samples()]
    manifest = tmp_path / "valid.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _calibrate_best(best, manifest, TrainConfig(), True)
    fitted = load_model(best).info["confidence_calibration"]
    assert fitted["greedy"] and fitted["beam"] is None and fitted["fitted_on"] == "valid.jsonl"
    assert "confidence calibrated on valid.jsonl" in capsys.readouterr().out

    nonsense = tmp_path / "nonsense.jsonl"  # every word wrong: nothing to fit
    nonsense.write_text("".join(json.dumps({**r, "text": "zzz qqq"}) + "\n" for r in rows))
    before = best.read_bytes()
    _calibrate_best(best, nonsense, TrainConfig(), True)
    assert best.read_bytes() == before
    assert "confidence left raw" in capsys.readouterr().out
