"""ONNX export: the exported features, model and streaming step give the torch model's
numbers, and the onnxruntime path transcribes without importing torch."""

import gzip
import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch
from test_checkpoint import tiny
from test_runtime_install import run_cli_runtime_only
from test_streaming import TOK, noise

from asr.checkpoint import LoadedModel, save_model
from asr.errors import AsrError
from asr.export import ConvLogMel, export
from asr.features import FeatureSettings, FeatureStats, LogMel
from asr.transcribe import Transcriber

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module", params=["blstm", "gru", "mamba"])
def exported(request, tmp_path_factory):
    """A random tiny model, scaled so its best path changes often, saved and exported."""
    tmp = tmp_path_factory.mktemp(request.param)
    torch.manual_seed(0)
    model, cfg = tiny(request.param)
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.mul_(4)
        model.head.weight.mul_(10)
    stats = FeatureStats(torch.randn(80) * 0.5 - 6, torch.rand(80) + 1)
    save_model(tmp / "m.safetensors", model, cfg, TOK, stats)
    files = export(tmp / "m.safetensors", tmp / "onnx", int8=True)
    return tmp, files, Transcriber(LoadedModel(model, cfg, TOK, stats))


def test_conv_logmel_equals_torchaudio_logmel():
    logmel = LogMel(FeatureSettings())
    wave = noise(16000, seed=2)
    assert torch.allclose(ConvLogMel(logmel)(wave), logmel(wave), atol=2e-3)


def test_export_writes_every_graph(exported):
    tmp, files, transcriber = exported
    names = {f.name for f in files}
    assert {"features.onnx", "model.onnx", "model.int8.onnx", "model.json"} <= names
    assert json.loads((tmp / "onnx" / "model.json").read_text())["lm"] is None  # none given
    streaming = {"frontend.onnx", "step.onnx", "step.int8.onnx"}
    assert (streaming <= names) == transcriber.loaded.model.causal
    assert names.isdisjoint(streaming) != transcriber.loaded.model.causal


def test_the_int8_copies_are_what_model_int8_onnx_runs(exported):
    """`--model DIR/model.int8.onnx` runs the quantized graphs, offline and streaming: close to
    the fp32 export's best path, yet not its numbers (so the int8 files are what ran)."""
    from asr.onnx_runtime import OnnxRecognizer, OnnxTranscriber
    from asr.stream import EndpointRules

    tmp, _, transcriber = exported
    wave = noise(40037, seed=3).numpy()
    fp32 = OnnxTranscriber(tmp / "onnx").log_probs(wave)
    int8 = OnnxTranscriber(tmp / "onnx" / "model.int8.onnx").log_probs(wave)
    assert int8.shape == fp32.shape and not np.array_equal(int8, fp32)
    assert (int8.argmax(1) == fp32.argmax(1)).mean() >= 0.9
    if not transcriber.loaded.model.causal:
        return
    rec = OnnxRecognizer(tmp / "onnx" / "model.int8.onnx", EndpointRules(float("inf"), 0))
    assert rec.int8
    state, outputs = rec.init_state(), []
    for start in range(0, len(wave), 2560):
        log_probs, state = rec.step(wave[start : start + 2560], state)
        outputs.append(log_probs)
    streamed = np.concatenate(outputs)
    assert streamed.shape == fp32.shape and not np.allclose(streamed, fp32, atol=2e-3)
    assert (streamed.argmax(1) == fp32.argmax(1)).mean() >= 0.9


def test_int8_copies_store_every_recurrent_weight_as_int8(exported):
    """onnxruntime leaves a GRU op's weights float32; asr.quantize stores them as int8 rows.
    The exporter names a recurrent op's weight initializers after it (onnx::GRU_12)."""
    import onnx

    tmp, _, transcriber = exported
    graphs = ["model.int8.onnx"] + ["step.int8.onnx"] * transcriber.loaded.model.causal
    for name in graphs:
        graph = onnx.load(str(tmp / "onnx" / name)).graph
        floats = [i.name for i in graph.initializer
                  if i.data_type == onnx.TensorProto.FLOAT and np.prod(i.dims) >= 16 * 16]  # fmt: skip
        assert not [n for n in floats if "gru" in n.lower() or "lstm" in n.lower()], floats


def test_an_int8_export_without_its_step_says_to_export_again(exported, tmp_path):
    """Before 2026-11-27 `--int8` quantized the offline model only."""
    import shutil

    from asr.onnx_runtime import OnnxRecognizer

    tmp, _, transcriber = exported
    if not transcriber.loaded.model.causal:
        return
    old = shutil.copytree(tmp / "onnx", tmp_path / "old")
    (old / "step.int8.onnx").unlink()
    with pytest.raises(AsrError, match="step.int8.onnx: missing; export the model again"):
        OnnxRecognizer(old / "model.int8.onnx")
    OnnxRecognizer(old)  # the fp32 folder still streams


def damage_json(text: str):
    return lambda folder: (folder / "model.json").write_text(text)


def drop_hop_ms(folder):
    meta = json.loads((folder / "model.json").read_text())
    del meta["config"]["features"]["hop_ms"]
    (folder / "model.json").write_text(json.dumps(meta))


def truncate_features(folder):
    graph = folder / "features.onnx"
    graph.write_bytes(graph.read_bytes()[:1000])


@pytest.mark.parametrize(
    "damage, message",
    [
        (damage_json("{not json"), "model.json: not valid JSON (Expecting property name"),
        (damage_json('{"format": "asr-onnx/1"}'), "model.json: no config or tokenizer in it"),
        (damage_json("[" * 100_000), "model.json: not valid JSON"),
        (drop_hop_ms, "model.json: bad export header (KeyError: 'hop_ms')"),
        (truncate_features, "features.onnx: cannot load it (Protobuf parsing failed)"),
    ],
)
def test_a_damaged_export_folder_is_one_line(exported, tmp_path, damage, message):
    import shutil

    from test_cli import run

    from asr.onnx_runtime import OnnxTranscriber, exported_lm

    tmp, _, transcriber = exported
    folder = shutil.copytree(tmp / "onnx", tmp_path / "damaged")
    damage(folder)
    with pytest.raises(AsrError) as refused:
        OnnxTranscriber(folder)
    assert message in str(refused.value) and "\n" not in str(refused.value)
    if "model.json: no" in message or "JSON" in message:  # what every reader of it checks
        with pytest.raises(AsrError, match="model.json: "):
            exported_lm(folder)
    if transcriber.loaded.model.causal:
        wav = tmp_path / "a.wav"
        sf.write(str(wav), noise(4000, seed=1).numpy(), 16000)
        result = run("live", "--model", folder, "--input", wav, "--speed", "0")
        assert result.exit_code == 1
        assert result.stderr.startswith("asr: error: ") and message in result.stderr
        assert result.stderr.count("\n") == 1


def test_an_export_whose_info_is_null_loads_as_one_without(exported, tmp_path):
    """A model.json saying "info": null (hand-edited) has no calibration and no tuned LM
    weights, for greedy decoding and a beam search alike: not a traceback."""
    import shutil

    from asr.beam import DEFAULT_LM_WEIGHTS, BeamOptions
    from asr.onnx_runtime import OnnxTranscriber

    tmp, _, _ = exported
    folder = shutil.copytree(tmp / "onnx", tmp_path / "null_info")
    meta = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**meta, "info": None}))
    assert OnnxTranscriber(folder).calibration is None
    searching = OnnxTranscriber(folder, beam=BeamOptions(beam=4)).beam_options
    assert searching.lm_weight == DEFAULT_LM_WEIGHTS["lm_weight"]
    assert searching.word_bonus == DEFAULT_LM_WEIGHTS["word_bonus"]


def test_model_json_with_a_bom_is_read_and_other_bytes_are_one_line(tmp_path):
    """Windows editors save a BOM before the JSON; bytes that are not UTF-8 name the file."""
    from asr.onnx_runtime import FORMAT, read_export_meta

    meta = {"format": FORMAT, "config": {}, "tokenizer": {}}
    (tmp_path / "model.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(meta).encode())
    assert read_export_meta(tmp_path) == meta
    (tmp_path / "model.json").write_bytes(b'{"format": "\xff"}')
    with pytest.raises(AsrError) as refused:
        read_export_meta(tmp_path)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'model.json'}:1: not UTF-8 text (byte 0xff")
    assert message.endswith("; export the model again") and "\n" not in message


@pytest.mark.parametrize("n", [300, 1500, 16000, 40037])
def test_onnx_runtime_gives_the_torch_log_probs_and_tokens(exported, n):
    from asr.onnx_runtime import OnnxTranscriber

    tmp, _, transcriber = exported
    onnx = OnnxTranscriber(tmp / "onnx")
    wave = noise(n, seed=n)
    expected = transcriber.log_probs(wave).numpy()
    got = onnx.log_probs(wave.numpy())
    assert got.shape == expected.shape
    assert np.allclose(got, expected, atol=2e-3)
    got_hyp, expected_hyp = onnx.transcribe_wave(wave.numpy()), transcriber.transcribe_wave(wave)
    assert got_hyp == expected_hyp
    confidences = [[w.confidence for w in h.words] for h in (got_hyp, expected_hyp)]
    assert confidences[0] == pytest.approx(confidences[1], abs=1e-2)
    assert all(c is not None for c in confidences[0])


def test_streaming_step_graph_matches_torch_step(exported):
    import onnxruntime as ort

    tmp, _, transcriber = exported
    model = transcriber.loaded.model
    if not model.causal:  # a bidirectional model has no step to export
        assert not (tmp / "onnx" / "step.onnx").exists()
        return
    step = ort.InferenceSession(str(tmp / "onnx" / "step.onnx"))
    encoder = model.encoder.eval()
    state = encoder.init_state(1)
    state = tuple(torch.randn_like(s) for s in state) if isinstance(state, tuple) else state
    pack = getattr(encoder, "pack_state", lambda s: s)  # Mamba: two parts, one tensor
    for frames in (9, 1, 30):  # the graph takes any number of frames from any state
        x = torch.randn(1, frames, model.frontend.proj.out_features)
        with torch.no_grad():
            expected, expected_state = encoder.step(x, state)
            expected = model._log_probs(expected).numpy()
        log_probs, new_state = step.run(None, {"x": x.numpy(), "state": pack(state).numpy()})
        assert np.allclose(log_probs, expected, atol=1e-4)
        # to the state's scale: a Mamba's SSM state is unbounded (1e4 here), a GRU's in [-1, 1]
        expected_state_np = pack(expected_state).numpy()
        scale = max(1.0, np.abs(expected_state_np).max())
        assert np.abs(new_state - expected_state_np).max() <= 1e-5 * scale
        state = expected_state


@pytest.mark.parametrize("weights", ["", "model.int8.onnx"])
def test_cli_transcribes_the_exported_folder_without_torch(exported, weights):
    from asr.onnx_runtime import OnnxTranscriber

    tmp, _, transcriber = exported
    path = tmp / "n.wav"
    sf.write(str(path), noise(24000, seed=5).numpy(), 16000)
    model = tmp / "onnx" / weights
    proc = run_cli_runtime_only("transcribe", str(path), "--model", str(model))
    assert proc.returncode == 0, proc.stderr
    expected = OnnxTranscriber(model) if weights else transcriber
    assert proc.stdout.strip() == expected.transcribe_file(path).text


def test_cli_scores_and_plots_the_exported_folder_without_torch(exported, tmp_path):
    """`asr eval --model DIR` reads audio and draws posteriograms with numpy, as transcribe
    does: no torch, and the transcripts it scores are the exported model's."""
    from asr.onnx_runtime import OnnxTranscriber

    tmp, _, _ = exported
    lines = []
    for n in range(2):
        sf.write(str(tmp_path / f"{n}.wav"), noise(20000, seed=30 + n).numpy(), 22050)
        lines.append(json.dumps({"audio": f"{n}.wav", "text": "a the", "duration": 0.9}))
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    proc = run_cli_runtime_only("eval", str(tmp_path / "m.jsonl"), "--model", str(tmp / "onnx"),
                                 "--plot", str(tmp_path / "plots"), "--json",
                                 allow=("matplotlib",))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    onnx = OnnxTranscriber(tmp / "onnx")
    hyps = [onnx.transcribe_file(tmp_path / f"{n}.wav").text for n in range(2)]
    from asr.evaluate import score

    assert json.loads(proc.stdout)["wer"] == pytest.approx(score(["a the"] * 2, hyps).wer)
    assert len(list((tmp_path / "plots").glob("*.png"))) == 2


@pytest.mark.parametrize("size", [37, 2560, 16000])
def test_onnx_streaming_equals_torch_offline(exported, size):
    from asr.onnx_runtime import OnnxRecognizer
    from asr.stream import EndpointRules

    tmp, _, transcriber = exported
    if not transcriber.loaded.model.causal:
        with pytest.raises(AsrError, match="cannot stream"):
            OnnxRecognizer(tmp / "onnx")
        return
    rec = OnnxRecognizer(tmp / "onnx", EndpointRules(float("inf"), 0))
    wave = noise(40037, seed=size).numpy()
    state, outputs = rec.init_state(), []
    for start in range(0, len(wave), size):
        log_probs, state = rec.step(wave[start : start + size], state)
        outputs.append(log_probs)
    expected = transcriber.log_probs(torch.from_numpy(wave)).numpy()
    streamed = np.concatenate(outputs)
    assert streamed.shape == expected.shape and np.allclose(streamed, expected, atol=2e-3)
    stream = rec.create_stream()
    for start in range(0, len(wave), size):
        stream.accept_waveform(wave[start : start + size])
        rec.decode(stream)
    stream.input_finished()
    (final,) = rec.decode(stream)
    assert final == transcriber.transcribe_wave(torch.from_numpy(wave))


def test_cli_live_runs_the_exported_folder_without_torch(exported):
    tmp, _, transcriber = exported
    if not transcriber.loaded.model.causal:
        return  # covered above: an offline export refuses to stream
    path = tmp / "live.wav"
    sf.write(str(path), noise(24000, seed=6).numpy(), 16000)
    args = ["live", "--input", str(path), "--speed", "0", "--json", "--model", str(tmp / "onnx")]
    proc = run_cli_runtime_only(*args)
    assert proc.returncode == 0, proc.stderr
    finals = [json.loads(x) for x in proc.stdout.splitlines() if '"final"' in x]
    assert " ".join(f["text"] for f in finals) == transcriber.transcribe_file(path).text


def test_cli_live_searches_an_exported_folder_without_torch(exported, word_lm):
    tmp, _, transcriber = exported
    if not transcriber.loaded.model.causal:
        return
    path = tmp / "live.wav"
    sf.write(str(path), noise(24000, seed=6).numpy(), 16000)
    args = ["live", "--input", str(path), "--speed", "0", "--json", "--model", str(tmp / "onnx"),
            "--vocab", str(word_lm / "words.txt"), "--alternatives", "2"]  # fmt: skip
    proc = run_cli_runtime_only(*args)
    assert proc.returncode == 0, proc.stderr
    finals = [json.loads(x) for x in proc.stdout.splitlines() if '"final"' in x]
    words = " ".join(f["text"] for f in finals).split()
    assert words and set(words) <= set(WORDS[:6])
    assert all("alternatives" in f for f in finals)


WORDS = ["a", "i", "an", "at", "it", "in", "on", "no", "to", "so", "we", "he", "me", "the"]


@pytest.fixture(scope="module")
def word_lm(tmp_path_factory):
    """A uniform unigram LM (gzipped ARPA) and a word list over words a random model spells."""
    from asr.beam import uniform_lm, write_arpa

    tmp = tmp_path_factory.mktemp("lm")
    write_arpa(tmp / "lm.arpa", uniform_lm(WORDS))
    (tmp / "lm.arpa.gz").write_bytes(gzip.compress((tmp / "lm.arpa").read_bytes()))
    (tmp / "words.txt").write_text("\n".join(WORDS[:6]) + "\n")
    (tmp / "hot.txt").write_text("the\n")
    return tmp


def spoken(hyp):
    return (
        hyp.text,
        [(w.word, w.start, w.end) for w in hyp.words],
        [a.text for a in hyp.alternatives],
    )


@pytest.mark.parametrize("search", ["beam", "lm", "vocab", "lm+hotwords"])
def test_an_exported_folder_searches_as_torch_does(exported, word_lm, search):
    """Beam search, with an LM, a word list or hotwords, on onnxruntime (flashlight-text
    without torch): the torch path's transcripts, word times and alternatives, offline and
    streamed."""
    from asr.beam import BeamOptions
    from asr.onnx_runtime import OnnxRecognizer, OnnxTranscriber
    from asr.stream import EndpointRules
    from asr.streaming import Recognizer

    tmp, _, transcriber = exported
    options = {
        "beam": BeamOptions(beam=8),
        "lm": BeamOptions(beam=8, lm=word_lm / "lm.arpa.gz", lm_weight=1.0, word_bonus=2.0),
        "vocab": BeamOptions(beam=8, vocab=word_lm / "words.txt"),
        "lm+hotwords": BeamOptions(beam=8, lm=word_lm / "lm.arpa", hotwords=word_lm / "hot.txt"),
    }[search]
    loaded = transcriber.loaded
    torch_path = Transcriber(loaded, options, alternatives=3)
    onnx = OnnxTranscriber(tmp / "onnx", beam=options, alternatives=3)
    wave = noise(40037, seed=21)
    expected = torch_path.transcribe_wave(wave)
    assert expected.text  # the search found words, so the comparison says something
    assert spoken(onnx.transcribe_wave(wave.numpy())) == spoken(expected)
    if not loaded.model.causal:
        return
    rules = EndpointRules(min_trailing_blank_s=0.3)
    finals = []
    for rec, audio in ((Recognizer(loaded, rules, options, 3), wave),
                       (OnnxRecognizer(tmp / "onnx", rules, beam=options, alternatives=3),
                        wave.numpy())):  # fmt: skip
        stream, heard = rec.create_stream(), []
        for start in range(0, len(audio), 2560):
            stream.accept_waveform(audio[start : start + 2560])
            heard += rec.decode(stream)
        stream.input_finished()
        heard += rec.decode(stream)
        finals.append([spoken(h) for h in heard])
    assert finals[0] == finals[1] and finals[0]


def test_an_export_with_an_lm_decodes_with_it_by_default(exported, word_lm, tmp_path):
    """`asr export --lm L` copies L in; `--model DIR` then searches with it as `asr
    transcribe` searches the bundled model with the bundled LM (`--no-lm`: greedy)."""
    from asr.beam import BeamOptions

    tmp, _, transcriber = exported
    out = tmp_path / "with_lm"
    proc = subprocess.run([sys.executable, "-m", "cli", "export", str(tmp / "m.safetensors"),
                           "--out", str(out), "--lm", str(word_lm / "lm.arpa.gz")],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "model.json").read_text())["lm"] == "lm.arpa.gz"
    from asr.model_info import describe

    assert describe(out)["lm"] == "lm.arpa.gz"
    assert (out / "lm.arpa.gz").read_bytes() == (word_lm / "lm.arpa.gz").read_bytes()
    path = tmp_path / "n.wav"
    sf.write(str(path), noise(32000, seed=9).numpy(), 16000)
    searched = Transcriber(transcriber.loaded, BeamOptions(lm=out / "lm.arpa.gz"))
    for flags, expected in (([], searched), (["--no-lm"], transcriber)):
        proc = run_cli_runtime_only("transcribe", str(path), "--model", str(out), *flags)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == expected.transcribe_file(path).text
    assert searched.transcribe_file(path).text != transcriber.transcribe_file(path).text
    missing = tmp_path / "none.arpa"
    proc = subprocess.run([sys.executable, "-m", "cli", "export", str(tmp / "m.safetensors"),
                           "--out", str(tmp_path / "not_made"), "--lm", str(missing)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 1 and not (tmp_path / "not_made").exists()
    assert proc.stderr == f"asr: error: {missing}: no such language model\n"


def test_exporting_again_into_a_folder_leaves_nothing_of_the_old_export(word_lm, tmp_path):
    """A GRU exported with --int8 and an LM, then a BLSTM over it without --int8: no old int8
    copy or streaming step stays to run with the new model.json; the folder's own LM is kept."""
    from asr.onnx_runtime import OnnxTranscriber

    stats = FeatureStats(torch.zeros(80), torch.ones(80))
    out = tmp_path / "onnx"
    for encoder, int8 in (("gru", True), ("blstm", False)):
        torch.manual_seed(0)
        model, cfg = tiny(encoder)
        save_model(tmp_path / f"{encoder}.safetensors", model, cfg, TOK, stats)
        lm = word_lm / "lm.arpa.gz" if int8 else out / "lm.arpa.gz"  # then: its own LM
        export(tmp_path / f"{encoder}.safetensors", out, int8=int8, lm=lm)
    names = {p.name for p in out.iterdir()}
    assert names == {"features.onnx", "model.onnx", "model.json", "lm.arpa.gz"}
    assert (out / "lm.arpa.gz").read_bytes() == (word_lm / "lm.arpa.gz").read_bytes()
    with pytest.raises(AsrError, match="export the model again with --int8"):
        OnnxTranscriber(out / "model.int8.onnx").log_probs(noise(16000, seed=1).numpy())


def test_exported_model_keeps_the_word_confidence_calibration_and_lm_weights(tmp_path):
    """A calibrated model's export scores words as the torch model does, not raw, and
    searches with the LM weights `asr tune-lm` gave it."""
    from asr.beam import LM_TUNING_KEY, BeamOptions
    from asr.confidence import CALIBRATION_KEY, Calibration
    from asr.onnx_runtime import OnnxTranscriber

    torch.manual_seed(1)
    model, cfg = tiny("blstm")
    with torch.no_grad():
        model.head.weight.mul_(10)
    stats = FeatureStats(torch.randn(80) * 0.5 - 6, torch.rand(80) + 1)
    info = {
        CALIBRATION_KEY: {"greedy": [1.5, 0.7], "beam": None},
        LM_TUNING_KEY: {"lm_weight": 0.6, "word_bonus": 2.0},
    }
    save_model(tmp_path / "m.safetensors", model, cfg, TOK, stats, info=info)
    export(tmp_path / "m.safetensors", tmp_path / "onnx")
    onnx = OnnxTranscriber(tmp_path / "onnx")
    assert onnx.calibration == Calibration(greedy=(1.5, 0.7))
    searching = OnnxTranscriber(tmp_path / "onnx", beam=BeamOptions(beam=4)).beam_options
    assert (searching.lm_weight, searching.word_bonus) == (0.6, 2.0)
    wave = noise(24000, seed=3).numpy()
    torch_words = (
        Transcriber(LoadedModel(model, cfg, TOK, stats, info))
        .transcribe_wave(torch.from_numpy(wave))
        .words
    )
    onnx_words = onnx.transcribe_wave(wave).words
    assert torch_words and [w.word for w in onnx_words] == [w.word for w in torch_words]
    for a, b in zip(onnx_words, torch_words):
        assert a.confidence == pytest.approx(b.confidence, abs=1e-3)
    onnx.calibration = None
    raw = [w.confidence for w in onnx.transcribe_wave(wave).words]
    assert [w.confidence for w in onnx_words] != raw


@pytest.mark.parametrize(
    "flag, why",
    [
        ("--vtln", "hear audio unwarped (no --vtln)"),
        ("--adapt", "keep their weights (no --adapt/--adapt-speaker)"),
        ("--adapt-speaker", "keep their weights (no --adapt/--adapt-speaker)"),
    ],
)
def test_cli_refuses_test_time_options_on_an_exported_folder(exported, flag, why):
    tmp, _, _ = exported
    path = tmp / "v.wav"
    sf.write(str(path), noise(8000, seed=7).numpy(), 16000)
    proc = subprocess.run([sys.executable, "-m", "cli", "transcribe", str(path), "--model",
                           str(tmp / "onnx"), flag],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"asr: error: {tmp / 'onnx'}: exported models {why}"


def test_asr_adapt_refuses_an_exported_folder(exported):
    tmp, _, _ = exported
    path = tmp / "a.wav"
    sf.write(str(path), noise(8000, seed=8).numpy(), 16000)
    proc = subprocess.run([sys.executable, "-m", "cli", "adapt", str(path), "--model",
                           str(tmp / "onnx"), "--out", str(tmp / "me.safetensors")],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 1 and not (tmp / "me.safetensors").exists()
    assert proc.stderr.strip() == (f"asr: error: {tmp / 'onnx'}: exported models keep their "
                                   "weights; adapt the model file they came from")  # fmt: skip


def test_a_mamba_model_exports_for_any_length(tmp_path):
    """Tracing would fix mambapy's parallel scan at the example's length; the exported graph
    loops over however many frames come and gives the torch model's log-probs."""
    import onnxruntime as ort

    torch.manual_seed(0)
    model, cfg = tiny("mamba")
    save_model(tmp_path / "m.safetensors", model, cfg, TOK, FeatureStats.identity(80))
    files = export(tmp_path / "m.safetensors", tmp_path / "onnx")
    assert [f.name for f in files] == [
        "features.onnx", "model.onnx", "frontend.onnx", "step.onnx", "model.json"
    ]  # fmt: skip
    session = ort.InferenceSession(str(tmp_path / "onnx" / "model.onnx"))
    model.eval()
    for frames in (50, 37, 400):
        feats = torch.randn(1, frames, 80)
        with torch.no_grad():
            expected = model(feats, torch.tensor([frames]))[0][0].numpy()
        got = session.run(None, {"feats": feats.numpy()})[0][0]
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < 1e-4


def test_an_old_mamba_export_without_a_step_says_to_export_again(tmp_path):
    """Exports made before the Mamba step existed say "streaming": false; asked to stream,
    such a folder names the remedy instead of claiming the encoder cannot stream."""
    from asr.onnx_runtime import OnnxRecognizer

    torch.manual_seed(0)
    model, cfg = tiny("mamba")
    save_model(tmp_path / "m.safetensors", model, cfg, TOK, FeatureStats.identity(80))
    export(tmp_path / "m.safetensors", tmp_path / "onnx")
    meta_path = tmp_path / "onnx" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "streaming": False, "state_shape": None}))
    with pytest.raises(AsrError, match="no streaming step .*export the model again"):
        OnnxRecognizer(tmp_path / "onnx")
