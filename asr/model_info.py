"""`asr info`: what a model file (or an `asr export` folder) holds, read from its header.

A model file carries its config, tokenizer, feature settings and training record; this puts
them in front of a person deciding which model to ship or why two runs differ.
"""

from __future__ import annotations

import json
from pathlib import Path

from asr.beam import LM_TUNING_KEY
from asr.bundled import model_path
from asr.confidence import CALIBRATION_KEY
from asr.errors import AsrError
from asr.onnx_runtime import export_location, header_fields, read_export_meta

ADAPTED_KEY = "adapted"  # in a model file's header info (asr adapt): what it was tuned to


def describe(model: str | Path | None) -> dict:
    """The facts about a model file or export folder, as plain JSON-able values."""
    location = export_location(model)
    if location is not None:
        folder = location[0]
        meta = read_export_meta(folder)  # the header every export reader checks
        with header_fields(folder / "model.json"):
            facts = _common(folder, meta["config"], meta["tokenizer"], meta.get("info") or {})
        facts.update(kind="onnx export", streams=bool(meta.get("streaming")))
        facts["files"] = sorted(p.name for p in folder.glob("*.onnx"))
        facts["lm"] = meta.get("lm")  # what its searches use unless told --no-lm
        return facts
    from asr.checkpoint import load_model

    path = model_path(model)
    loaded = load_model(path)
    facts = _common(path, loaded.config.to_dict(), loaded.tokenizer.to_dict(), loaded.info)
    facts.update(
        kind="model file",
        streams=loaded.model.causal,
        parameters=loaded.model.num_parameters(),
        megabytes=round(path.stat().st_size / 1e6, 2),
        stored=_stored_precision(path),
    )
    return facts


def _common(path: Path, config: dict, tokenizer: dict, info: dict) -> dict:
    model, features = config["model"], config["features"]
    training = {k: info[k] for k in ("epoch", "step") if k in info}
    valid = info.get("valid", {})
    scores = {k: round(v, 4) for k, v in valid.items() if k.startswith(("wer:", "cer:"))}
    if scores:
        training["validation"] = scores
    if info.get("averaged"):
        training["averaged_snapshots"] = len(info["averaged"])
    calibration = info.get(CALIBRATION_KEY) or {}
    searches = [s for s in ("greedy", "beam") if calibration.get(s)]
    return {
        "path": str(path),
        "encoder": model["encoder"],
        "layers": model["layers"],
        "hidden": model["hidden"],
        "features": {k: features[k] for k in ("sample_rate", "n_mels", "win_ms", "hop_ms")},
        "tokenizer": {"kind": tokenizer["kind"], "symbols": len(tokenizer["symbols"])},
        "training": training,
        "confidence": {"calibrated_on": calibration.get("fitted_on"), "searches": searches},
        "adapted": info.get(ADAPTED_KEY),  # asr adapt: what it was tuned to, or None
        "lm_weights": info.get(LM_TUNING_KEY),  # asr tune-lm: its choice, or None
    }


def _stored_precision(path: Path) -> str:
    """float16 or float32, from the safetensors header (loading widens both to float32)."""
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    types = {v["dtype"] for k, v in header.items() if k.startswith("model.") and "dtype" in v}
    floats = sorted(t for t in types if t.startswith(("F", "BF")))
    if not floats:
        raise AsrError(str(path), "model file holds no floating-point weights")
    return {"F16": "float16", "F32": "float32", "BF16": "bfloat16"}.get(floats[0], floats[0])


def format_info(facts: dict) -> list[str]:
    """Lines for a person: one fact per line, the training record last."""
    lines = [f"{facts['path']}: {facts['kind']}"]
    size = ""
    if "parameters" in facts:
        size = (f", {facts['parameters'] / 1e6:.2f} M parameters ({facts['stored']}, "
                f"{facts['megabytes']} MB)")  # fmt: skip
    lines.append(f"  encoder: {facts['encoder']}, {facts['layers']} layers of "
                 f"{facts['hidden']}{size}")  # fmt: skip
    lines.append("  streams: " + ("yes (causal)" if facts["streams"] else "no (reads ahead)"))
    f = facts["features"]
    lines.append(f"  features: {f['n_mels']} log-mel at {f['sample_rate']} Hz, "
                 f"{f['win_ms']:g} ms window, {f['hop_ms']:g} ms hop")  # fmt: skip
    t = facts["tokenizer"]
    lines.append(f"  tokenizer: {t['kind']}, {t['symbols']} symbols with the CTC blank")
    c = facts["confidence"]
    lines.append(
        f"  confidence: calibrated on {c['calibrated_on']} ({', '.join(c['searches'])})"
        if c["searches"] else "  confidence: raw scores (asr calibrate fits them)"
    )  # fmt: skip
    tuned = facts.get("lm_weights")
    lines.append(
        f"  LM weights: {tuned['lm_weight']:g}, word bonus {tuned['word_bonus']:g} (tuned on "
        f"{tuned.get('tuned_on')} with {tuned.get('lm')}: WER {tuned.get('greedy_wer')} greedy "
        f"-> {tuned.get('wer')})"
        if tuned else "  LM weights: the defaults (asr tune-lm picks this model's own)"
    )  # fmt: skip
    if facts.get("adapted"):
        a = facts["adapted"]
        lines.append(f"  adapted: to {a['recordings']} recordings ({a['seconds']} s) of one "
                     f"speaker, from {a['from']} ({a['steps']} steps at lr {a['lr']:g})")  # fmt: skip
    training = facts["training"]
    if "step" in training:
        lines.append(f"  training: step {training['step']}, epoch {training.get('epoch')}"
                     + (f", mean of {training['averaged_snapshots']} snapshots"
                        if "averaged_snapshots" in training else ""))  # fmt: skip
    for name, value in training.get("validation", {}).items():
        lines.append(f"    {name}: {value}")
    if "files" in facts:
        lines.append(f"  files: {', '.join(facts['files'])}")
        lm = facts.get("lm")
        lines.append(
            f"  decoding: beam search with {lm} (--no-lm: greedy)"
            if lm
            else "  decoding: greedy (--lm FILE: beam search)"
        )
    return lines
