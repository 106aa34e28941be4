"""Speaker adaptation (`asr adapt`, `--adapt-speaker`): one tuned copy of the weights for
all of a speaker's recordings, decoding them with any search."""

import json
import shutil

import pytest
import torch
from conftest import SAMPLES_DIR
from test_cli import run

from asr.adapt import AdaptOptions, adaptation_loss, tuned_weights
from asr.bundled import BUNDLED_LM
from asr.checkpoint import load_model
from asr.confidence import CALIBRATION_KEY
from asr.evaluate import evaluate_manifest
from asr.manifest import padded_batches
from asr.model_info import ADAPTED_KEY
from asr.transcribe import Transcriber

FEW_STEPS = AdaptOptions(steps=2)
SAMPLES = ["sample1.wav", "sample2.flac", "sample3.ogg"]


@pytest.fixture(scope="module")
def bundled():
    return load_model(None)


@pytest.fixture(scope="module")
def sample_waves(bundled):
    reader = Transcriber(bundled)
    return [reader.load_wave(SAMPLES_DIR / name) for name in SAMPLES]


def mean_loss(model, feats, options):
    with torch.no_grad():
        losses = []
        for f in feats:
            log_probs, out_lens = model(f[None], torch.tensor([len(f)]))
            losses.append(float(adaptation_loss(log_probs[0, : int(out_lens[0])], 0, options)))
    return sum(losses) / len(losses)


def test_tuning_batches_bound_the_padded_size_and_keep_the_order():
    lengths = [5, 3, 9, 2, 20, 4]  # tuned_weights batches feature frames with padded_batches
    batches = padded_batches(list(range(len(lengths))), lengths, 12)
    assert [i for batch in batches for i in batch] == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 12


def test_the_gradient_is_the_whole_sets_however_it_is_batched(bundled, sample_waves):
    reader = Transcriber(bundled)
    feats = [reader.heard(wave)[0] for wave in sample_waves]
    whole = tuned_weights(bundled.model, feats, 0, FEW_STEPS, batch_frames=10**9)
    apart = tuned_weights(bundled.model, feats, 0, FEW_STEPS, batch_frames=1)  # one per batch
    # Adam moves each weight about lr a step whatever its gradient's size, so where a gradient
    # is almost 0 the order of summation may flip its step: allow that in 1 weight in 10,000.
    # Had a batch's gradient been lost, most weights would have moved otherwise.
    for name, value in whole.items():
        moved_otherwise = (apart[name] - value).abs() > FEW_STEPS.lr / 10
        assert float(moved_otherwise.float().mean()) < 1e-4, name
    assert any(not torch.equal(value, dict(bundled.model.named_parameters())[name])
               for name, value in whole.items())  # fmt: skip


def test_adapted_to_tunes_a_copy_to_all_the_recordings(bundled, sample_waves):
    before = {k: v.clone() for k, v in bundled.model.state_dict().items()}
    plain = Transcriber(bundled)
    steps_seen = []
    tuned = plain.adapted_to(sample_waves, FEW_STEPS, on_step=steps_seen.append)
    assert steps_seen == [1, 2]  # progress hears every step
    assert tuned.loaded.model is not bundled.model and tuned.loaded.tokenizer is bundled.tokenizer
    feats = [plain.heard(wave)[0] for wave in sample_waves]
    assert mean_loss(tuned.loaded.model, feats, FEW_STEPS) < mean_loss(
        bundled.model, feats, FEW_STEPS
    )
    for name, value in bundled.model.state_dict().items():  # the shared model is untouched
        torch.testing.assert_close(value, before[name], atol=0, rtol=0)
    # digital silence is left out of the tuning: it changes nothing
    with_silence = plain.adapted_to([*sample_waves, torch.zeros(16000)], FEW_STEPS)
    for name, value in tuned.loaded.model.state_dict().items():
        torch.testing.assert_close(with_silence.loaded.model.state_dict()[name], value)


def test_adapted_to_keeps_the_search(bundled, sample_waves):
    from asr.beam import BeamOptions

    searching = Transcriber(bundled, BeamOptions(beam=4))
    tuned = searching.adapted_to(sample_waves[:1], FEW_STEPS)
    assert tuned.beam is not None and tuned.beam is not searching.beam
    assert (
        tuned.transcribe_wave(sample_waves[0]).text
        == tuned.with_own_search().transcribe_wave(sample_waves[0]).text
    )


def speakers_manifest(tmp_path, speakers):
    lines = []
    for name, speaker in zip(SAMPLES, speakers):
        line = {"audio": str(SAMPLES_DIR / name), "text": "x"}
        if speaker is not None:
            line["speaker"] = speaker
        lines.append(json.dumps(line))
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_eval_decodes_each_speaker_with_a_copy_tuned_to_its_utterances(
    tmp_path, bundled, sample_waves
):
    manifest = speakers_manifest(tmp_path, ["a", None, "a"])
    plain = Transcriber(bundled)
    report = tmp_path / "report.txt"
    evaluate_manifest(plain, manifest, report=report, adapt_speakers=FEW_STEPS)
    speaker_a = plain.adapted_to([sample_waves[0], sample_waves[2]], FEW_STEPS)
    alone = plain.adapted_to([sample_waves[1]], FEW_STEPS)  # names no speaker: tuned alone
    expected = [speaker_a.transcribe_wave(sample_waves[0]).text,
                alone.transcribe_wave(sample_waves[1]).text,
                speaker_a.transcribe_wave(sample_waves[2]).text]  # fmt: skip
    hyps = [line[len("HYP: ") :].strip() for line in report.read_text().splitlines()
            if line.startswith("HYP:")]  # fmt: skip
    assert [" ".join(h.split()) for h in hyps] == expected


def test_eval_adapt_speaker_needs_speakers(tmp_path):
    manifest = speakers_manifest(tmp_path, [None, None, None])
    out = run("eval", manifest, "--adapt-speaker", "--no-lm")
    assert out.exit_code == 1
    assert out.stderr == f"asr: error: {manifest}: no utterance names a speaker to adapt to\n"


def test_asr_adapt_writes_a_model_file_that_transcribes_as_adapt_speaker(tmp_path):
    out_model = tmp_path / "me.safetensors"
    audio = [SAMPLES_DIR / name for name in SAMPLES]
    made = run("adapt", *audio, "--out", out_model)
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith(f"{out_model}: the model tuned to 3 recordings (")
    assert made.stdout.count("\n") == 1
    loaded = load_model(out_model)
    assert loaded.info[ADAPTED_KEY]["recordings"] == 3
    assert CALIBRATION_KEY not in loaded.info  # fitted to the stored weights, not these
    described = run("info", out_model)
    assert "  adapted: to 3 recordings (" in described.stdout, described.output
    lm = ("--no-lm", "--beam", "4")  # the same search for both
    with_file = run("transcribe", *audio, "--model", out_model, *lm)
    in_memory = run("transcribe", *audio, "--adapt-speaker", *lm)
    assert with_file.exit_code == in_memory.exit_code == 0, in_memory.output
    assert with_file.stdout == in_memory.stdout and with_file.stdout.count("\t") == 3


def test_asr_adapt_reads_every_file_before_writing(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really")
    out_model = tmp_path / "me.safetensors"
    out = run("adapt", SAMPLES_DIR / "sample1.wav", bad, "--out", out_model)
    assert out.exit_code == 1 and out.stderr.startswith(f"asr: error: {bad}: ")
    assert out.stderr.count("\n") == 1 and not out_model.exists()


def test_transcribe_adapt_speaker_reports_a_bad_file_and_decodes_the_rest(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"")
    good = tmp_path / "good.flac"
    shutil.copy(SAMPLES_DIR / "sample2.flac", good)
    out = run("transcribe", good, bad, "--adapt-speaker", "--no-lm")
    assert out.exit_code == 1
    assert out.stderr.startswith(f"asr: error: {bad}: ") and out.stderr.count("\n") == 1
    assert out.stdout.startswith(f"{good}\t") and out.stdout.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--adapt", "--adapt-speaker", "--no-lm"], "--adapt tunes to each utterance"),
        (["-", "--adapt-speaker", "--no-lm"], "-: --adapt-speaker reads each file twice"),
        (["--adapt-speaker"], "--adapt-speaker decodes greedily or with --vocab"),  # bundled LM
        (
            ["--adapt-speaker", "--model", "streaming", "--lm", BUNDLED_LM],
            "--adapt-speaker decodes",
        ),
    ],
)
def test_adapt_speaker_refusals(args, message):
    out = run("transcribe", SAMPLES_DIR / "sample1.wav", *args)
    assert out.exit_code == 1
    assert out.stderr.startswith(f"asr: error: {message}") and out.stderr.count("\n") == 1


def test_eval_plots_each_utterance_as_its_speaker_copy_decoded_it(tmp_path, bundled, monkeypatch):
    import asr.evaluate

    drawn = {}
    monkeypatch.setattr(asr.evaluate, "plot_utterances",
                        lambda decoders, utts, out: drawn.update(decoders=decoders, utts=utts))  # fmt: skip
    plain = Transcriber(bundled)
    manifest = speakers_manifest(tmp_path, ["a", "b", "a"])
    evaluate_manifest(plain, manifest, plot_dir=tmp_path, plots=3, adapt_speakers=FEW_STEPS)
    first, second, third = drawn["decoders"]
    assert len(drawn["utts"]) == 3 and plain not in (first, second, third)
    assert first is third and first is not second  # one tuned copy per speaker
