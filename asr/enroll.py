"""`asr adapt`: a model file tuned, without transcripts, to one speaker's recordings.

Why: a voice, accent or microphone unlike the training ones costs the most words, and its
owner can record minutes of it but will not transcribe them. A copy of the model tuned to
those minutes at once (asr/adapt.py's objective, on all of them together) then decodes the
same speaker's next recordings with any search, streams included (`asr live --model`). On
FSDD's dev speaker lucas (500 one-digit recordings) the bundled BiLSTM's greedy WER goes from
0.320 to 0.060, and with `--vocab` digits from 0.046 to 0.002 (README, `--adapt-speaker`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from asr.adapt import SPEAKER_ADAPTATION, AdaptOptions
from asr.audio_file import STDIN
from asr.checkpoint import save_model
from asr.confidence import CALIBRATION_KEY
from asr.errors import AsrError
from asr.model_info import ADAPTED_KEY
from asr.outputs import output_file
from asr.transcribe import Transcriber


@dataclass(frozen=True)
class Enrolled:
    """What `adapt_model_file` tuned the model to."""

    recordings: int
    seconds: float
    path: Path


def adapt_model_file(
    model: str | Path | None,
    audio: list[str | Path],
    out: str | Path,
    options: AdaptOptions | None = None,
    on_step: Callable[[int], None] | None = None,
) -> Enrolled:
    """Tune a copy of `model` (None: the bundled one) to all of `audio` and write it to `out`
    (atomically). Every file is read before any tuning, so a bad one stops it with nothing
    written. The copy keeps no confidence calibration: that was fitted to the stored weights,
    and tuned weights are surer of every word, right or wrong. `on_step(n)` hears after each
    of `options.steps` tuning steps."""
    output_file(out)
    options = options or SPEAKER_ADAPTATION
    transcriber = Transcriber.from_file(model)
    waves = [transcriber.load_wave(path) for path in audio]
    loaded = transcriber.adapted_to(waves, options, on_step).loaded
    seconds = sum(len(wave) for wave in waves) / transcriber.settings.sample_rate
    info = {key: value for key, value in loaded.info.items() if key != CALIBRATION_KEY}
    info[ADAPTED_KEY] = {
        "from": str(model or "default"),
        "recordings": len(waves),
        "seconds": round(seconds, 2),
        "steps": options.steps,
        "lr": options.lr,
    }
    save_model(out, loaded.model, loaded.config, loaded.tokenizer, loaded.stats, info)
    return Enrolled(len(waves), seconds, Path(out))


def adapted_to_files(
    transcriber: Transcriber, paths: list[Path], options: AdaptOptions | None = None
) -> Transcriber:
    """`transcriber` tuned to every readable file of `paths` at once (`asr transcribe
    --adapt-speaker`). A file that cannot be read is left out here; decoding reports it."""
    if any(str(path) == STDIN for path in paths):
        raise AsrError(STDIN, "--adapt-speaker reads each file twice (to tune, then to decode): "
                       "save standard input to a file first")  # fmt: skip
    waves = []
    for path in paths:
        try:
            waves.append(transcriber.load_wave(path))
        except AsrError:
            continue
    return transcriber.adapted_to(waves, options or SPEAKER_ADAPTATION)
