"""Kaldi data directories: `wav.scp`, `text`, and `segments` / `utt2spk` where present.

Manifests name one audio file per utterance, so segments are cut out into WAVs under OUT,
and `wav.scp` entries that are commands (`... |`, Kaldi's convention) are run to get the
audio, exactly as Kaldi would run them: prepare only data directories you trust.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import soundfile as sf

from asr.audio_file import header_duration
from asr.errors import AsrError
from asr.manifest import Utterance, write_manifest
from asr.text import normalize_text


def _table(path: Path, fields: int | None = None) -> dict[str, list[str]]:
    """Kaldi table: key, then the rest of the line (split into `fields` parts if given)."""
    table = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        key, _, rest = line.strip().partition(" ")
        parts = rest.split() if fields else [rest.strip()]
        if not rest.strip() or (fields and len(parts) != fields):
            raise AsrError(f"{path}:{number}", "malformed line")
        table[key] = parts
    return table


def _read(entry: str, where: str):
    """A wav.scp entry -> (samples, rate): a file path or a command ending in '|'."""
    try:
        if entry.endswith("|"):
            proc = subprocess.run(entry[:-1], shell=True, capture_output=True, check=True)
            return sf.read(io.BytesIO(proc.stdout), dtype="float32")
        return sf.read(entry, dtype="float32")
    except subprocess.CalledProcessError as err:
        raise AsrError(
            where, f"command failed: {err.stderr.decode(errors='replace').strip()}"
        ) from None
    except (RuntimeError, sf.LibsndfileError) as err:
        raise AsrError(where, f"cannot read audio ({err})") from None


def prepare(src_dir: str | Path, out_dir: str | Path) -> list[Path]:
    src, out = Path(src_dir), Path(out_dir)
    for name in ("wav.scp", "text"):
        if not (src / name).exists():
            raise AsrError(str(src), f"not a Kaldi data directory (no {name})")
    recordings = {k: v[0] for k, v in _table(src / "wav.scp").items()}
    texts = {k: v[0] for k, v in _table(src / "text").items()}
    speakers = (
        {k: v[0] for k, v in _table(src / "utt2spk", 1).items()}
        if (src / "utt2spk").exists()
        else {}
    )
    if (src / "segments").exists():
        segments = {
            k: (v[0], float(v[1]), float(v[2])) for k, v in _table(src / "segments", 3).items()
        }
    else:
        segments = {k: (k, 0.0, -1.0) for k in recordings}
    cut_dir = out / "wav"
    utterances, cache = [], {}
    for utt, (rec, start, end) in sorted(segments.items()):
        if utt not in texts:
            continue  # Kaldi tolerates utterances without text; they cannot be scored
        if rec not in recordings:
            raise AsrError(str(src / "segments"), f"{utt}: recording {rec} is not in wav.scp")
        entry = recordings[rec]
        if not entry.endswith("|") and not (src / "segments").exists():
            # Kaldi's relative paths are relative to the recipe folder: try there, then here.
            path = Path(entry) if Path(entry).exists() else src / entry
            if not path.exists():
                raise AsrError(f"{src / 'wav.scp'}: {rec}", f"no such audio file {entry}")
            audio = path.resolve()
            duration = header_duration(path, f"{src / 'wav.scp'}: {rec}")
        else:
            if rec not in cache:
                cache = {rec: _read(entry, f"{src / 'wav.scp'}: {rec}")}  # keep one recording
            samples, rate = cache[rec]
            piece = samples[round(start * rate) : None if end < 0 else round(end * rate)]
            cut_dir.mkdir(parents=True, exist_ok=True)
            audio = (cut_dir / f"{utt}.wav").resolve()
            sf.write(str(audio), piece, rate, subtype="PCM_16")
            duration = len(piece) / rate
        text = normalize_text(texts[utt])
        if text:
            extra = {"id": utt, "speaker": speakers.get(utt, rec)}
            utterances.append(Utterance(audio, text, duration, extra))
    path = out / f"{src.name}.jsonl"
    write_manifest(path, utterances)
    return [path]
