"""Multi-voice TTS corpus builder: espeak-ng, flite, festival, Piper and Kokoro voices read
sentences.

Why: with no recorded speech on the machine, many synthetic voices with random speed,
pitch and formant variation are the cheapest way to get varied, exactly-labelled audio.
The same speaker never appears in both training and test audio (see HELD_OUT_VOICES).
"""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from shutil import which

from asr.neural_tts import Reader, kokoro_model, kokoro_voice_names, piper_models
from asr.text import normalize_text

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
TIMEOUT_S = 60
FESTIVAL_VOICE_DIR = Path("/usr/share/festival/voices")
# Variants that still sound like speech; whisper and the novelty robots do not.
ESPEAK_VARIANTS = (
    [""]
    + [f"m{i}" for i in range(1, 9)]
    + [f"f{i}" for i in range(1, 6)]
    + ["klatt", "klatt2", "klatt3", "croak"]
)
FLITE_SKIP = {"awb_time"}  # limited-domain voice: it can only say clock times
# Speakers (not just voices) kept for the test set only: flite's slt and festival's
# slt HTS voice are the same recorded woman, so both must be held out together.
# Kokoro's jf_tebukuro is held out alone and in every blend (asr/neural_tts.py).
HELD_OUT_VOICES = frozenset({"festival:cmu_us_slt_arctic_hts", "flite:slt", "kokoro:jf_tebukuro"})
RATE_RANGE = (0.8, 1.25)
PITCH_RANGE = (-3.0, 3.0)  # semitones
# Resampling factor: moves the whole spectrum, like a longer or shorter vocal tract.
FORMANT_RANGE = (0.93, 1.07)
MAX_DURATION_S = 20.0
MANIFEST_EVERY = 500


class SynthesisError(RuntimeError):
    """One voice failed on one sentence; the corpus builder skips it."""


@dataclass(frozen=True)
class Voice:
    """A TTS voice: engine, voice name, and an optional espeak variant (+m3, +klatt...)."""

    engine: str
    name: str
    variant: str = ""

    @property
    def speaker(self) -> str:
        return f"{self.engine}:{self.name}"

    @property
    def id(self) -> str:
        return self.speaker + (f"+{self.variant}" if self.variant else "")

    @property
    def held_out(self) -> bool:
        blended = f"{self.engine}:{self.variant}" if self.engine == "kokoro" else ""
        return self.speaker in HELD_OUT_VOICES or blended in HELD_OUT_VOICES


def _run(cmd: Sequence[str], stdin: str | None = None) -> str:
    """Run a tool with a timeout; any failure becomes a SynthesisError."""
    try:
        done = subprocess.run(
            cmd, check=False, input=stdin, capture_output=True, text=True, timeout=TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SynthesisError(f"{cmd[0]}: {e}") from e
    # festival reports errors on stderr but still exits 0.
    if done.returncode != 0 or "SIOD ERROR" in done.stderr:
        raise SynthesisError(f"{cmd[0]} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return done.stdout


def _espeak_table(kind: str) -> list[tuple[str, str]]:
    """(language, file) rows of `espeak-ng --voices=KIND`; empty if espeak is missing."""
    try:
        listing = _run(["espeak-ng", f"--voices={kind}"])
    except SynthesisError:
        return []
    rows = [line.split() for line in listing.splitlines()[1:]]
    return [(row[1], row[4]) for row in rows if len(row) > 4]


def _espeak_voices() -> list[Voice]:
    """English espeak-ng voices x variants; mbrola voices need a binary that is not installed."""
    langs = dict.fromkeys(lang for lang, file in _espeak_table("en") if file.startswith("gmw/"))
    have = {file.removeprefix("!v/") for _, file in _espeak_table("variant")}
    variants = [v for v in ESPEAK_VARIANTS if not v or v in have]
    return [Voice("espeak", lang, v) for lang in langs for v in variants]


def _flite_voices() -> list[Voice]:
    """Voices compiled into flite, as listed by `flite -lv`."""
    try:
        names = _run(["flite", "-lv"]).split(":", 1)[-1].split()
    except SynthesisError:
        return []
    return [Voice("flite", n) for n in names if n not in FLITE_SKIP]


def _festival_voices() -> list[Voice]:
    """Festival voices installed as /usr/share/festival/voices/<language>/<name>/."""
    if not FESTIVAL_VOICE_DIR.is_dir() or which("text2wave") is None:
        return []
    return [Voice("festival", d.name) for d in sorted(FESTIVAL_VOICE_DIR.glob("*/*")) if d.is_dir()]


def _neural_voices() -> list[Voice]:
    """Piper voices, and Kokoro's alone and blended 2:1 with each other (asr/neural_tts.py)."""
    voices = [Voice("piper", name) for name in piper_models()]
    kokoro = kokoro_model()
    names = kokoro_voice_names(kokoro) if kokoro else []
    for name in names:
        voices += [Voice("kokoro", name, other if other != name else "") for other in names]
    return voices


def available_voices() -> list[Voice]:
    """Every usable voice on this machine, held-out ones included."""
    return _espeak_voices() + _flite_voices() + _festival_voices() + _neural_voices()


def voices_for(split: str) -> list[Voice]:
    """'train': all voices but the held-out speakers; 'heldout': only those."""
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', not {split!r}")
    return [v for v in available_voices() if v.held_out == (split == "heldout")]


_neural_readers = threading.local()  # each corpus-builder thread talks to its own workers


def _read_neural(voice: Voice, text: str, rate: float, raw: Path) -> None:
    """Piper or Kokoro reads `text` into `raw` through this thread's worker for the model."""
    readers = _neural_readers.__dict__.setdefault("by_model", {})
    key = voice.speaker if voice.engine == "piper" else "kokoro"  # one Kokoro model, all voices
    if key not in readers:
        readers[key] = Reader(
            piper_models()[voice.name] if voice.engine == "piper" else kokoro_model()
        )
    style = "+".join(filter(None, [voice.name, voice.variant])) if voice.engine == "kokoro" else ""
    failure = readers[key].read(text, rate, style, raw, TIMEOUT_S)
    if failure is not None:
        raise SynthesisError(f"{voice.id}: {failure}")


def _engine_command(
    voice: Voice, text: str, rate: float, pitch_shift: float, raw: Path
) -> list[str]:
    """The engine call producing raw audio at speaking-rate factor `rate` (>1 is faster)."""
    if voice.engine == "espeak":
        name = voice.name + (f"+{voice.variant}" if voice.variant else "")
        # espeak's -p is a 0-99 pitch setting around 50; ~8 steps per semitone sounds right.
        pitch = min(99, max(0, round(50 + 8 * pitch_shift)))
        args = f"-v {name} -s {round(175 * rate)} -p {pitch} --stdin -w".split()
        return ["espeak-ng", *args, str(raw)]
    if voice.engine == "flite":
        args = f"-voice {voice.name} --setf duration_stretch={1 / rate:.3f} -t".split()
        return ["flite", *args, text, "-o", str(raw)]
    if voice.engine == "festival":
        # HTS voices take hts_engine's -r speed option; diphone voices read Duration_Stretch.
        if voice.name.endswith("_hts"):
            speed = (
                f'(set! hts_engine_params (append hts_engine_params (list (list "-r" {rate:.3f}))))'
            )
        else:
            speed = f"(Parameter.set 'Duration_Stretch {1 / rate:.3f})"
        return ["text2wave", "-eval", f"(voice_{voice.name})", "-eval", speed, "-o", str(raw)]
    raise ValueError(f"unknown engine {voice.engine!r}")


def _sox_command(
    voice: Voice, raw: Path, out: Path, pitch_shift: float, formant: float
) -> list[str]:
    """Peak-normalize, trim silence to a 0.15 s pad, shift pitch/formants, resample to 16 kHz.

    Normalizing first makes the silence threshold mean the same for every engine; -D turns
    off sox's random dither so a rerun writes identical files.
    """
    trim = "silence 1 0.02 -55d"
    # Only espeak takes pitch natively; flite's f0 target is absolute per voice, so use sox.
    pitch = "" if voice.engine == "espeak" else f"pitch {100 * pitch_shift:.0f}"
    effects = f"gain -n -3 {trim} reverse {trim} reverse {pitch} speed {formant:.4f}"
    effects += f" rate {SAMPLE_RATE} pad 0.15 0.15"
    return ["sox", "-D", str(raw), "-b", "16", "-c", "1", str(out), *effects.split()]


def synthesize(
    voice: Voice,
    text: str,
    rate_scale: float,
    pitch_shift: float,
    out_path: Path,
    formant_scale: float = 1.0,
) -> float:
    """Read `text` with `voice` into a 16 kHz mono 16-bit WAV; returns its duration in seconds.

    rate_scale is the net speaking-rate factor; formant_scale resamples (moving pitch and
    formants together) and the engine rate is compensated so duration still follows rate_scale.
    """
    out_path = Path(out_path)
    raw, tmp = out_path.with_suffix(".raw.wav"), out_path.with_suffix(".tmp.wav")
    try:
        engine_rate = rate_scale / formant_scale
        if voice.engine in ("piper", "kokoro"):
            _read_neural(voice, text, engine_rate, raw)
        else:
            _run(_engine_command(voice, text, engine_rate, pitch_shift, raw), stdin=text)
        _run(_sox_command(voice, raw, tmp, pitch_shift, formant_scale))
        duration = wav_duration(tmp)
        if duration is None or duration < 0.35:  # 0.3 s is the padding alone: nothing was said
            raise SynthesisError(f"{voice.id} produced no speech for {text!r}")
        os.replace(tmp, out_path)  # a killed run never leaves a half-written WAV behind
        return duration
    finally:
        raw.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)


TIMED_VOICE = "cmu_us_slt_arctic_hts"  # held out of training, so timed audio is a fair test
_WORD_TIMES = """(voice_{voice})
(set! utt (utt.synth (Utterance Text "{text}")))
(utt.save.wave utt "{wave}" 'riff)
(mapcar (lambda (w) (format t "%s %f %f\\n" (item.name w) (item.feat w "word_start")
                             (item.feat w "word_end"))) (utt.relation.items utt 'Word))
"""


def synthesize_timed(text: str, out_path: Path, voice: str = TIMED_VOICE) -> list[dict]:
    """Festival reads `text` into a 16 kHz WAV and says where each word starts and ends.

    Why: a latency benchmark needs the true end of every word; the synthesizer knows it
    exactly, where a forced alignment is only an estimate. Nothing trims or stretches the
    audio afterwards, so the times stay true. -> [{"word", "start", "end"}] (seconds).
    """
    out_path = Path(out_path)
    raw, script = out_path.with_suffix(".raw.wav"), out_path.with_suffix(".scm")
    quoted = text.replace("\\", " ").replace('"', " ")
    script.write_text(_WORD_TIMES.format(voice=voice, text=quoted, wave=raw))
    try:
        listing = _run(["festival", "-b", str(script)])
        # Half a second of silence after the last word, so an endpoint can follow it.
        _run(["sox", "-D", str(raw), "-b", "16", "-c", "1", str(out_path),
              "rate", str(SAMPLE_RATE), "pad", "0", "0.5"])  # fmt: skip
    finally:
        raw.unlink(missing_ok=True)
        script.unlink(missing_ok=True)
    words = []
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) == 3:
            words.append({"word": parts[0], "start": float(parts[1]), "end": float(parts[2])})
    if [normalize_text(w["word"]) for w in words] != normalize_text(text).split():
        said = " ".join(w["word"] for w in words)
        raise SynthesisError(f"festival read {text!r} as other words: {said!r}")
    return words


def wav_duration(path: Path) -> float | None:
    """Duration of a readable, non-empty WAV at the corpus sample rate, else None."""
    import soundfile

    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError):
        return None
    ok = info.frames > 0 and info.samplerate == SAMPLE_RATE and info.channels == 1
    return info.frames / info.samplerate if ok else None


@dataclass(frozen=True)
class Plan:
    """How utterance i is read: a function of (seed, i) only, so a resumed run chooses alike."""

    voice: Voice
    rate: float
    pitch: float
    formant: float


def plan_utterance(seed: int, index: int, voices: Sequence[Voice]) -> Plan:
    """Pick a speaker uniformly, then one of its variants: otherwise espeak's ~140
    variant voices would drown out the handful of flite and festival speakers."""
    rng = random.Random(f"{seed}:{index}")
    speakers = sorted({v.speaker for v in voices})
    speaker = rng.choice(speakers)
    voice = rng.choice([v for v in voices if v.speaker == speaker])
    return Plan(
        voice,
        round(rng.uniform(*RATE_RANGE), 3),
        round(rng.uniform(*PITCH_RANGE), 2),
        round(rng.uniform(*FORMANT_RANGE), 3),
    )


def write_manifest(entries: Iterable[dict], path: Path) -> None:
    """JSON Lines written to a temp file then renamed, so readers never see half a file."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.writelines(json.dumps(entry) + "\n" for entry in entries)
    os.replace(tmp, path)


def _utterance(index: int, text: str, plan: Plan, out_dir: Path) -> dict | None:
    """Synthesize one sentence unless a valid WAV from an earlier run exists; None if it failed."""
    rel = f"wav/{index:06d}.wav"
    duration = wav_duration(out_dir / rel)
    if duration is None:
        try:
            duration = synthesize(
                plan.voice, text, plan.rate, plan.pitch, out_dir / rel, plan.formant
            )
        except SynthesisError as e:
            log.warning("skipping utterance %d: %s", index, e)
            return None
    if duration > MAX_DURATION_S:
        log.warning("skipping utterance %d: %.1f s is too long", index, duration)
        return None
    return {
        "audio": rel,
        "text": text,
        "duration": round(duration, 3),
        "voice": plan.voice.id,
        "speaker": plan.voice.speaker,
    }


def build_corpus(
    sentences: Sequence[str],
    voices: Sequence[Voice],
    out_dir: Path,
    seed: int = 0,
    max_hours: float | None = None,
    jobs: int = 1,
) -> list[dict]:
    """Each sentence read by one random voice into out_dir/wav/; manifest at out_dir/manifest.jsonl.

    Resumable and deterministic by seed (whatever `jobs`); the manifest is rewritten every
    MANIFEST_EVERY utterances so a long run is usable before it ends. `jobs` threads each
    drive one TTS subprocess: the work is in the engines, so threads are enough.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    if not voices:
        raise ValueError("no voices to synthesize with")
    out_dir = Path(out_dir)
    (out_dir / "wav").mkdir(parents=True, exist_ok=True)
    manifest, entries, seconds = out_dir / "manifest.jsonl", [], 0.0
    texts = [normalize_text(sentence) for sentence in sentences]

    def one(index: int) -> dict | None:
        if not texts[index]:
            return None
        return _utterance(index, texts[index], plan_utterance(seed, index, voices), out_dir)

    bar = tqdm(total=len(texts), desc="synth", unit="utt", mininterval=10)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for start in range(0, len(texts), MANIFEST_EVERY):
            batch = range(start, min(start + MANIFEST_EVERY, len(texts)))
            for entry in pool.map(one, batch):
                bar.update(1)
                if entry is None:
                    continue
                entries.append(entry)
                seconds += entry["duration"]
                if max_hours is not None and seconds >= max_hours * 3600:
                    break
            bar.set_postfix(hours=f"{seconds / 3600:.2f}", refresh=False)
            write_manifest(entries, manifest)
            if max_hours is not None and seconds >= max_hours * 3600:
                break
    bar.close()
    return entries


def voice_summary(voices: Sequence[Voice]) -> str:
    """One line per speaker with its variant count, for logs."""
    counts: dict[str, int] = {}
    for v in voices:
        counts[v.speaker] = counts.get(v.speaker, 0) + 1
    return "\n".join(f"  {s} ({n} voice{'s' * (n > 1)})" for s, n in counts.items())
