"""`asr`: the command line. Thin: each command parses, calls one function in `asr/`, and
turns domain errors into `asr: error: WHERE: reason` with a non-zero exit."""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Small recurrent speech recognizer."
)

ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help="Model file, or `default` / `streaming` for a bundled one, or an `asr export` "
        "folder (DIR/model.int8.onnx: its int8 weights) (default: the bundled model).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
DevManifestArgument = Annotated[  # what asr calibrate and asr tune-lm fit to
    Path, typer.Argument(help="JSON Lines manifest with reference text (a dev set).")
]
BeamOption = Annotated[
    int, typer.Option("--beam", help="Beam width (0: greedy; 32 when --lm/--vocab/--hotwords).")
]
LmOption = Annotated[
    Path | None,
    typer.Option(
        "--lm",
        help="Word n-gram LM (ARPA, .arpa.gz or KenLM binary; "
        "default: the bundled LM when --model is not given).",
    ),
]
NoLmOption = Annotated[
    bool,
    typer.Option(
        "--no-lm", help="Decode the bundled model without the bundled LM (greedy by default)."
    ),
]
LmWeightOption = Annotated[
    float | None, typer.Option("--lm-weight", help="LM weight (default 1.5, picked on dev data).")
]
WordBonusOption = Annotated[
    float | None,
    typer.Option("--word-bonus", help="Score added per word (default -1: fewer, longer words)."),
]
VocabOption = Annotated[
    Path | None, typer.Option("--vocab", help="Only output these words (one per line).")
]
HotwordsOption = Annotated[
    Path | None, typer.Option("--hotwords", help="Favour these words (one per line).")
]
SrtOption = Annotated[
    Path | None, typer.Option("--srt", help="Also write subtitles as DIR/NAME.srt.")
]
VttOption = Annotated[
    Path | None, typer.Option("--vtt", help="Also write subtitles as DIR/NAME.vtt (WebVTT).")
]
AlternativesOption = Annotated[
    int,
    typer.Option(
        "--alternatives",
        min=0,
        metavar="N",
        help="With --json: also list the N best transcripts of the beam search (of each final, "
        "when streaming), each with its score, probability and words.",
    ),
]
VtlnOption = Annotated[
    bool,
    typer.Option(
        "--vtln",
        help="Hear each utterance at 7 vocal-tract-length warps and keep the one the model is "
        "surest of: about 3.5x the decoding time, better on voices unlike the training ones.",
    ),
]
AdaptOption = Annotated[
    bool,
    typer.Option(
        "--adapt",
        help="Greedy decoding only: tune a copy of the model to each utterance for 10 steps "
        "before decoding it (test-time adaptation, no transcript needed): about 35x the model "
        "time, better on voices, accents and microphones unlike the training ones.",
    ),
]
AdaptSpeakerHelp = (
    "tune one copy of the model to all of them at once (no transcripts needed) and decode "
    "them with it: for many short recordings of one voice or microphone; it can also make a "
    "speaker's steady confusion surer (README), so check it on a few labelled recordings. "
    "Greedy or --vocab, not with an LM nor with --adapt."
)
HotwordBonusOption = Annotated[
    float | None, typer.Option("--hotword-bonus", help="Log-score bonus per hotword (default 5).")
]


def subtitle_dirs(srt: Path | None, vtt: Path | None) -> dict[str, Path]:
    """--srt/--vtt -> {file suffix: folder} for asr.subtitles.write_subtitles, each folder
    made now, before any decoding (a file in its place is an error at once)."""
    from asr.outputs import output_folder

    return {suffix: output_folder(d) for suffix, d in ((".srt", srt), (".vtt", vtt)) if d}


@dataclass(frozen=True)
class DecodingFlags:
    """The decoding flags of every command that decodes (`with_decoding_flags` adds them)."""

    beam: int = 0
    lm: Path | None = None
    lm_weight: float | None = None
    word_bonus: float | None = None
    vocab: Path | None = None
    hotwords: Path | None = None
    hotword_bonus: float | None = None
    no_lm: bool = False

    def options(self, model):
        """BeamOptions for `model`, or None for greedy decoding; the LM settled: the bundled
        model (and an export made with an LM) comes with its LM unless --no-lm. A weight
        flag that search would not use is an AsrError, not dropped without a word."""
        from asr.beam import flag_of
        from asr.errors import AsrError

        lm = lm_or_bundled(model, self.lm, self.no_lm)
        unused = self.unused_weights(lm)
        if unused:
            raise AsrError(flag_of(unused[0]), f"needs {WEIGHT_NEEDS[unused[0]]}")
        return beam_options(self.beam, lm, self.lm_weight, self.word_bonus, self.vocab,
                            self.hotwords, self.hotword_bonus)  # fmt: skip

    def unused_weights(self, lm: Path | None) -> list[str]:
        """The weight flags given that a search with the LM `lm` would not read: greedy
        decoding reads none; `--beam N` alone spells letters with no LM and no word score."""
        used = {"hotword_bonus"} if self.hotwords else set()
        if lm is not None or self.hotwords:  # hotwords without --lm: a uniform LM over --vocab
            used.add("lm_weight")
        if lm is not None or self.vocab or self.hotwords:  # a search over words
            used.add("word_bonus")
        return [n for n in WEIGHT_NEEDS if getattr(self, n) is not None and n not in used]


WEIGHT_NEEDS = {  # DecodingFlags weight -> what the search needs for it to count
    "lm_weight": "a language model (--lm, or the bundled model without --no-lm)",
    "word_bonus": "a search over words (--lm, --vocab, or the bundled model without --no-lm)",
    "hotword_bonus": "--hotwords FILE",
}


_DECODING_OPTIONS = {  # DecodingFlags field -> its command-line option
    "beam": BeamOption,
    "lm": LmOption,
    "lm_weight": LmWeightOption,
    "word_bonus": WordBonusOption,
    "vocab": VocabOption,
    "hotwords": HotwordsOption,
    "hotword_bonus": HotwordBonusOption,
    "no_lm": NoLmOption,
}


def with_decoding_flags(command):
    """Give `command` the decoding options (--beam, --lm, ...) and pass them to it as one
    `decoding: DecodingFlags`, so five commands do not each spell out eight options."""
    own = inspect.signature(command, eval_str=True)
    defaults = DecodingFlags()
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=option,
                          default=getattr(defaults, name))
        for name, option in _DECODING_OPTIONS.items()
    ]  # fmt: skip
    kept = [p for p in own.parameters.values() if p.name != "decoding"]

    @functools.wraps(command)
    def run(**kwargs):
        flags = DecodingFlags(**{name: kwargs.pop(name) for name in _DECODING_OPTIONS})
        return command(**kwargs, decoding=flags)

    run.__signature__ = own.replace(parameters=[*kept, *added])
    run.__annotations__ = {p.name: p.annotation for p in run.__signature__.parameters.values()}
    return run


def check_alternatives(alternatives: int, json_output: bool, beam) -> None:
    """--alternatives lists what a beam search found, in JSON: refuse it otherwise."""
    if alternatives and not json_output:
        fail("--alternatives is printed in --json output; add --json")
    if alternatives and beam is None:
        fail("--alternatives needs a beam search: --beam N, --lm FILE, or the bundled LM "
             "(not --no-lm)")  # fmt: skip


def load_transcriber(
    model,
    decoding: DecodingFlags,
    alternatives: int = 0,
    vtln: bool = False,
    adapt: bool = False,
    adapt_speaker: bool = False,
):
    """A torch Transcriber for a model file, or onnxruntime for an `asr export` folder;
    the bundled model comes with the bundled LM unless --no-lm. `adapt_speaker` only checks
    that the flags allow tuning to speakers: the caller tunes."""
    if adapt and adapt_speaker:
        fail("--adapt tunes to each utterance, --adapt-speaker to each speaker: choose one "
             "(both together lost to either alone on dev)")  # fmt: skip
    beam = decoding.options(model)
    from asr.onnx_runtime import is_onnx_export

    if is_onnx_export(model):
        if vtln:
            fail(f"{model}: exported models hear audio unwarped (no --vtln)")
        if adapt or adapt_speaker:
            fail(f"{model}: exported models keep their weights (no --adapt/--adapt-speaker)")
        from asr.onnx_runtime import OnnxTranscriber

        return OnnxTranscriber(model, beam=beam, alternatives=alternatives)
    if adapt_speaker and beam is not None and beam.lm is not None:
        fail("--adapt-speaker decodes greedily or with --vocab/--hotwords/--beam, not with an "
             "LM (after tuning it lost on dev: FSDD lucas 0.192 -> 0.316); add --no-lm, or "
             "leave out --lm")  # fmt: skip
    if adapt and beam is not None:
        fail("--adapt is for greedy decoding (a beam search with an LM lost to it on dev: "
             "WER 0.368 -> 0.513); add --no-lm, or leave out --lm/--beam/--vocab/--hotwords")  # fmt: skip
    from asr.adapt import AdaptOptions
    from asr.features import VTLN_WARPS
    from asr.transcribe import Transcriber

    warps = VTLN_WARPS if vtln else ()
    return Transcriber.from_file(
        model, beam, alternatives, warps, AdaptOptions() if adapt else None
    )


@contextmanager
def long_file_progress(path: Path):
    """A progress bar on stderr while a long recording is decoded piece by piece; it starts
    with the first piece decoded, so files that fit one piece never show one."""
    bar, task = None, None

    def advance(done: float, total: float) -> None:
        nonlocal bar, task
        if bar is None:
            from rich.console import Console
            from rich.progress import Progress

            bar = Progress(console=Console(stderr=True), transient=True)
            bar.start()
            task = bar.add_task(f"{path.name}: {total / 60:.1f} min", total=total)
        bar.update(task, completed=done)

    try:
        yield advance
    finally:
        if bar is not None:
            bar.stop()


def lm_or_bundled(model: Path | None, lm: Path | None, no_lm: bool) -> Path | None:
    """The LM to decode with: --lm; else, for the bundled model, the bundled LM (beam search
    with it cuts the bundled model's dev WER from 0.53 to 0.37), and for an export folder the
    LM exported with it; nothing with --no-lm."""
    if no_lm:
        if lm is not None:
            fail("--lm and --no-lm contradict each other")
        return None
    from asr.bundled import BUNDLED_LM, is_bundled

    if lm is None and is_bundled(model):
        return BUNDLED_LM if BUNDLED_LM.exists() else None
    if lm is None:  # an export folder decodes with the LM exported beside its model, if any
        from asr.onnx_runtime import exported_lm

        return exported_lm(model)
    return lm


def beam_options(beam, lm, lm_weight, word_bonus, vocab, hotwords, hotword_bonus):
    """BeamOptions from the decoding flags, or None for greedy decoding."""
    check_flag(beam >= 0, "--beam", "0 (greedy) or more", beam)  # past MAX_BEAM: BeamOptions
    if not beam and lm is None and vocab is None and hotwords is None:
        return None
    from asr.beam import BeamOptions

    # Unset flags take BeamOptions' defaults: the CLI and the library cannot drift apart.
    given = {"lm_weight": lm_weight, "word_bonus": word_bonus, "hotword_bonus": hotword_bonus}
    return BeamOptions(
        beam=beam or BeamOptions.beam, lm=lm, vocab=vocab, hotwords=hotwords,
        **{name: value for name, value in given.items() if value is not None},
    )  # fmt: skip


def fail(message: str, code: int = 1):
    typer.echo(f"asr: error: {message}", err=True)
    raise typer.Exit(code)


def check_flag(ok: bool, flag: str, wanted: str, value: float) -> None:
    """A numeric flag out of its range is one line, before any work."""
    if not ok:
        fail(f"{flag}: must be {wanted}, not {value:g}")


def user_errors(command):
    """Turn AsrError, OSError (and Ctrl-C) into one line on stderr and exit 1 instead of a
    traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from asr.errors import AsrError

        try:
            return command(*args, **kwargs)
        except AsrError as err:
            fail(str(err))
        except BrokenPipeError:  # `asr ... | head`: the reader has gone; end quietly, as cat does
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(141) from None
        except OSError as err:  # a write the checks up front could not foresee (disk full)
            from asr.errors import os_reason

            where = err.filename2 or err.filename  # a rename names its destination second
            fail(f"{where}: {os_reason(err)}" if where else os_reason(err))
        except KeyboardInterrupt:
            fail("interrupted", code=130)
        except ModuleNotFoundError as err:  # a runtime-only install meeting a torch command
            from asr.errors import missing_package_reason

            fail(missing_package_reason(err))

    return wrapper


@app.command()
@user_errors
@with_decoding_flags
def transcribe(
    audio: Annotated[list[Path], typer.Argument(help="Audio files (WAV, FLAC, OGG; any rate).")],
    model: ModelOption = None,
    json_output: JsonOption = False,
    decoding: DecodingFlags = DecodingFlags(),
    srt: SrtOption = None,
    vtt: VttOption = None,
    ctm: Annotated[
        Path | None,
        typer.Option("--ctm", help="Also write every file's words as NIST CTM to this file."),
    ] = None,
    alternatives: AlternativesOption = 0,
    vtln: VtlnOption = False,
    adapt: AdaptOption = False,
    adapt_speaker: Annotated[
        bool,
        typer.Option("--adapt-speaker", help="The files are one speaker's: " + AdaptSpeakerHelp),
    ] = False,
):
    """Transcribe audio files: one file prints its text; several print PATH<TAB>text."""
    from asr.ctm import ctm_lines, ctm_name
    from asr.errors import AsrError
    from asr.many_files import transcribe_files

    if srt or vtt or ctm:  # "a b" and "a_b" are one recording in a CTM file
        stems = [ctm_name(p.stem) if ctm else p.stem for p in audio]
        clash = next((s for s in stems if stems.count(s) > 1), None)
        if clash is not None:
            fail(f"--srt/--vtt/--ctm: two inputs are named {clash}; their outputs would collide")
    check_alternatives(alternatives, json_output, decoding.options(model))
    subtitles = subtitle_dirs(srt, vtt)
    if ctm:
        from asr.outputs import output_file

        output_file(ctm)
    transcriber = load_transcriber(model, decoding, alternatives, vtln, adapt, adapt_speaker)
    if adapt_speaker:
        from asr.enroll import adapted_to_files

        transcriber = adapted_to_files(transcriber, audio)
    failures = 0
    with ExitStack() as files:  # the CTM file closes whatever happens
        ctm_file = files.enter_context(ctm.open("w", encoding="utf-8")) if ctm else None
        for path, hyp in transcribe_files(transcriber, audio, long_file_progress):
            if isinstance(hyp, AsrError):  # report and go on: one bad file must not lose the others
                typer.echo(f"asr: error: {hyp}", err=True)
                failures += 1
                continue
            name = "stdin" if str(path) == "-" else path.stem
            if subtitles:
                from asr.subtitles import write_subtitles

                write_subtitles(hyp.words, name, subtitles)
            if ctm_file:
                ctm_file.writelines(line + "\n" for line in ctm_lines(name, hyp.words))
                ctm_file.flush()
            if json_output:
                out = {
                    "audio": str(path),
                    "text": hyp.text,
                    "words": [w.to_dict() for w in hyp.words],
                }
                if alternatives:
                    out["alternatives"] = [a.to_dict() for a in hyp.alternatives]
                typer.echo(json.dumps(out))
            elif len(audio) == 1:
                typer.echo(hyp.text)
            else:
                typer.echo(f"{path}\t{hyp.text}")
    if failures:
        raise typer.Exit(1)


def echo_scores(scores, by: str | None, baseline: str | None, versus: dict | None) -> None:
    """`asr eval`'s human output: the totals line, a row per --by value, the baseline line."""
    interval, ci = scores.wer_interval, ""
    if interval:
        ci = f"[95% CI {100 * interval.low:.2f}-{100 * interval.high:.2f}, {interval.unit}s] "
    typer.echo(
        f"WER {100 * scores.wer:.2f}% {ci}"
        f"({scores.substitutions} sub, {scores.deletions} del, "
        f"{scores.insertions} ins of {scores.words} words)  CER {100 * scores.cer:.2f}%  "
        f"utterances {scores.utterances}  RTF {scores.rtf:.4f}"
        + (f"  confidence AUROC {scores.confidence_auroc:.3f}" if scores.confidence_auroc else "")
        + (f", error {scores.confidence_error:.3f}" if scores.confidence_error is not None else "")
    )
    if scores.groups:
        width = max(len(by), *(len(name) for name in scores.groups))
        typer.echo(
            f"{by:<{width}}  {'WER':>7}  {'95% CI':>13}  {'CER':>7}  {'utts':>5}  {'words':>6}"
        )
        for name, group in scores.groups.items():
            spread = group.wer_interval
            ci = f"{100 * spread.low:.1f}-{100 * spread.high:.1f}%" if spread else "-"
            typer.echo(
                f"{name:<{width}}  {100 * group.wer:6.2f}%  {ci:>13}  {100 * group.cer:6.2f}%  "
                f"{group.utterances:>5}  {group.words:>6}"
            )
    if versus:
        line = (
            f"baseline {baseline}: WER {100 * versus['wer']:.2f}%; difference "
            f"{100 * versus['difference']:+.2f} points"
        )
        if "difference_ci95" not in versus:  # the bootstrap had nothing to resample
            why = "no reference words" if not scores.words else "one utterance"
            typer.echo(f"{line} (no interval: {why})")
            return
        low, high = versus["difference_ci95"]
        typer.echo(
            f"{line} [95% CI {100 * low:+.2f} to {100 * high:+.2f}, "
            f"{versus['ci_resampled']}s]; lower WER in {100 * versus['better']:.1f}% of resamples"
        )


@app.command("eval")
@user_errors
@with_decoding_flags
def evaluate(
    manifest: Annotated[Path, typer.Argument(help="JSON Lines manifest with reference text.")],
    model: ModelOption = None,
    json_output: JsonOption = False,
    report: Annotated[
        Path | None, typer.Option(help="Write each reference, hypothesis and alignment here.")
    ] = None,
    trn: Annotated[
        Path | None,
        typer.Option(help="Write NIST sclite ref.trn and hyp.trn into this folder."),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="Write posteriogram/alignment PNGs of the first utterances here."),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Also score each value of this manifest key (speaker, gender, ...) apart.",
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            help="Also decode with this model (same flags) and say whether the model beats "
            "it: the WER difference's 95% interval and the share of resamples it wins.",
        ),
    ] = None,
    baseline_lm: Annotated[
        str | None,
        typer.Option(
            "--baseline-lm",
            help="Decode the baseline with this word LM instead of the model's (a file, or "
            "`none` for none), the other flags the same; without --baseline the baseline is "
            "the model itself, so this compares two LMs, or an LM against none, paired.",
        ),
    ] = None,
    vtln: VtlnOption = False,
    adapt: AdaptOption = False,
    adapt_speaker: Annotated[
        bool,
        typer.Option(
            "--adapt-speaker",
            help="For each speaker the manifest names (its `speaker` key), " + AdaptSpeakerHelp,
        ),
    ] = False,
    decoding: DecodingFlags = DecodingFlags(),
):
    """Score a model on a manifest: WER with its 95% interval, CER, error counts and
    real-time factor."""
    from asr.beam import flag_of
    from asr.evaluate import compare_scores, evaluate_manifest

    speakers = None
    if adapt_speaker:  # torch only (an export folder is refused below): imported only then
        from asr.adapt import SPEAKER_ADAPTATION

        speakers = SPEAKER_ADAPTATION
    transcriber = load_transcriber(
        model, decoding, vtln=vtln, adapt=adapt, adapt_speaker=adapt_speaker
    )
    if baseline_lm is not None and baseline is None:
        baseline = model if model is not None else Path("default")
    other = None  # loaded before any decoding, so a bad baseline or LM fails at once
    if baseline is not None:
        flags = baseline_lm_flags(decoding, baseline_lm)
        unused = flags.unused_weights(lm_or_bundled(baseline, flags.lm, flags.no_lm))
        if unused:  # the model uses them, the baseline, with no LM, would not
            fail(f"--baseline {baseline} decodes without a language model, so without "
                 f"{flag_of(unused[0])}: give it one with --baseline-lm FILE, or "
                 "--baseline-lm none to compare with it as it is")  # fmt: skip
        other = load_transcriber(
            baseline, flags, vtln=vtln, adapt=adapt, adapt_speaker=adapt_speaker
        )
    scores = evaluate_manifest(
        transcriber, manifest, report, trn, plot, group_by=by, adapt_speakers=speakers
    )
    versus = None
    if other is not None:
        versus = compare_scores(scores, evaluate_manifest(other, manifest, adapt_speakers=speakers))
    label = f"{baseline}" + (f" with LM {baseline_lm}" if baseline_lm is not None else "")
    if json_output:
        record = scores.to_dict()
        if versus:
            record["baseline"] = {"model": str(baseline), **versus}
            if baseline_lm is not None:
                record["baseline"]["lm"] = baseline_lm
        typer.echo(json.dumps(record))
        return
    echo_scores(scores, by, label, versus)


def baseline_lm_flags(decoding: DecodingFlags, baseline_lm: str | None) -> DecodingFlags:
    """The baseline's decoding flags: the model's, with --baseline-lm's LM (`none`: no LM,
    and none of the weights that only the model's LM search reads)."""
    if baseline_lm is None:
        return decoding
    if baseline_lm.lower() == "none":
        unlm = replace(decoding, lm=None, no_lm=True)
        return replace(unlm, **{name: None for name in unlm.unused_weights(None)})
    return replace(decoding, lm=Path(baseline_lm), no_lm=False)


@app.command()
@user_errors
def adapt(
    audio: Annotated[
        list[Path], typer.Argument(help="One speaker's recordings (WAV, FLAC, OGG; any rate).")
    ],
    out: Annotated[Path, typer.Option("--out", help="The tuned copy of the model file.")],
    model: ModelOption = None,
):
    """Tune a copy of the model to one speaker's (or microphone's) recordings, without
    transcripts, and write it as a model file for transcribe, eval, live and serve."""
    from asr.onnx_runtime import is_onnx_export

    if is_onnx_export(model):
        fail(f"{model}: exported models keep their weights; adapt the model file they came from")
    from rich.console import Console
    from rich.progress import Progress

    from asr.adapt import SPEAKER_ADAPTATION
    from asr.enroll import adapt_model_file

    stderr = Console(stderr=True)  # a bar on a terminal only: nothing before an error line
    with Progress(console=stderr, transient=True, disable=not stderr.is_terminal) as bar:
        task = bar.add_task(f"tuning to {len(audio)} recordings", total=SPEAKER_ADAPTATION.steps)
        done = adapt_model_file(model, audio, out, on_step=lambda n: bar.update(task, completed=n))
    typer.echo(
        f"{out}: the model tuned to {done.recordings} recordings ({done.seconds:.1f} s); "
        "decode with it greedily or with --vocab (with an LM it lost on dev)"
    )


@app.command()
@user_errors
@with_decoding_flags
def calibrate(
    manifest: DevManifestArgument,
    out: Annotated[Path, typer.Option("--out", help="The calibrated copy of the model file.")],
    model: ModelOption = None,
    decoding: DecodingFlags = DecodingFlags(),
):
    """Fit word confidences to probabilities of being right on a dev manifest (greedy, and
    the beam search the decoding flags give) and write a model file that carries the fit."""
    from asr.calibrate import calibrate as run_calibrate

    options = decoding.options(model)
    for fit in run_calibrate(model, manifest, out, options):
        typer.echo(
            f"{fit.search}: {fit.words} words, {fit.right:.3f} right, AUROC {fit.auroc:.3f}, "
            f"calibration error {fit.error_before:.3f} -> {fit.error_after:.3f} "
            f"(a={fit.params[0]:.3f}, b={fit.params[1]:.3f})"
        )
    typer.echo(f"{out}: the model with calibrated word confidence")


def float_list(text: str, flag: str) -> list[float]:
    """'0.5,1,1.5' -> [0.5, 1.0, 1.5], or one error line naming the flag."""
    import math

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        fail(f"{flag}: must be numbers separated by commas, not '{text}'")
    if not values or not all(math.isfinite(v) for v in values):
        fail(f"{flag}: must be finite numbers separated by commas, not '{text}'")
    return values


@app.command("tune-lm")
@user_errors
def tune_lm(
    manifest: DevManifestArgument,
    out: Annotated[Path, typer.Option("--out", help="The model file carrying the weights.")],
    model: ModelOption = None,
    lm: LmOption = None,
    beam: Annotated[int, typer.Option("--beam", min=1, help="Beam width.")] = 32,
    vocab: VocabOption = None,
    lm_weights: Annotated[
        str, typer.Option("--lm-weights", help="LM weights to try, comma-separated.")
    ] = "0.5,0.8,1,1.2,1.5,2",  # 1.2 and 0.5: the bundled word-piece BiLSTM's pair
    word_bonuses: Annotated[
        str, typer.Option("--word-bonuses", help="Word bonuses to try, comma-separated.")
    ] = "-2,-1,0,0.5,1",
    max_utts: Annotated[
        int, typer.Option("--max-utts", min=0, help="Tune on the first N utterances (0: all).")
    ] = 0,
):
    """Pick the LM weight and word bonus with the lowest WER on a dev manifest and write a
    model file that carries them: the beam search then uses them unless told otherwise."""
    from asr.beam import BeamOptions
    from asr.lm_tuning import tune_lm as run_tuning

    weights = float_list(lm_weights, "--lm-weights")
    bonuses = float_list(word_bonuses, "--word-bonuses")
    options = BeamOptions(beam=beam, lm=lm_or_bundled(model, lm, False), vocab=vocab)
    tuning = run_tuning(model, manifest, out, options, weights, bonuses, max_utts)
    best = tuning.best
    typer.echo("lm_weight\tword_bonus\twer")
    for point in tuning.points:
        mark = "\t<- chosen" if point is best else ""
        typer.echo(f"{point.lm_weight:g}\t{point.word_bonus:g}\t{point.wer:.4f}{mark}")
    typer.echo(
        f"{out}: LM weight {best.lm_weight:g}, word bonus {best.word_bonus:g}: WER "
        f"{tuning.greedy_wer:.4f} greedy -> {best.wer:.4f} on {tuning.utterances} utterances"
    )


@app.command()
@user_errors
def align(
    source: Annotated[
        Path, typer.Argument(help="An audio file, or a JSON Lines manifest (.jsonl) to align.")
    ],
    transcript: Annotated[
        Path | None, typer.Argument(help="The audio file's transcript (a text file).")
    ] = None,
    model: ModelOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Manifest mode: write the aligned manifest here."),
    ] = None,
    below: Annotated[
        float | None,
        typer.Option(
            "--below",
            help="Manifest mode: list utterances whose align_score is under this (default 0.05).",
        ),
    ] = None,
    drop: Annotated[
        bool,
        typer.Option(
            "--drop", help="Manifest mode: leave the utterances under --below out of --out."
        ),
    ] = False,
    srt: SrtOption = None,
    vtt: VttOption = None,
):
    """Forced alignment: word times of a known transcript (JSON), or of every utterance of a
    manifest (--out), with confidences that expose transcripts the audio does not say."""
    from asr.onnx_runtime import is_onnx_export

    manifest_mode = source.suffix in (".jsonl", ".json")
    # an option of the other mode would be dropped without a word: refuse it
    if manifest_mode:
        other_mode, mode = {"--srt": srt, "--vtt": vtt}, "one recording (AUDIO TRANSCRIPT)"
    else:
        other_mode = {"--out": out, "--below": below, "--drop": drop or None}
        mode = "a manifest (.jsonl)"
    given = [flag for flag, value in other_mode.items() if value is not None]
    if given:
        fail(f"{given[0]}: only when aligning {mode}")
    if manifest_mode and (transcript is not None or out is None):
        fail(f"{source}: a manifest is aligned with --out FILE and no transcript argument")
    if not manifest_mode and transcript is None:
        fail(f"{source}: give the transcript file after the audio (or a .jsonl manifest)")
    if model is not None and is_onnx_export(model):
        fail(f"{model}: asr align needs a model file, not an exported folder")
    if manifest_mode:
        below = 0.05 if below is None else below
        check_flag(0 <= below <= 1, "--below", "from 0 to 1 (an align_score)", below)
        align_manifest_command(source, out, below, drop, model)
    else:
        align_recording(source, transcript, srt, vtt, model)


def align_manifest_command(source: Path, out: Path, below: float, drop: bool, model) -> None:
    """`asr align MANIFEST --out FILE`: the summary, the worst 20 and each error line."""
    from rich.console import Console
    from rich.progress import track

    from asr.align import align_manifest
    from asr.transcribe import Transcriber

    def progress(items):  # on stderr: stdout carries the results
        return track(items, "aligning", transient=True, console=Console(stderr=True))

    transcriber = Transcriber.from_file(model)
    scored = align_manifest(transcriber, source, out, progress, below if drop else None)
    low = [(score, utt) for score, utt, _ in scored if score < below]
    fate = "left out" if drop else "kept"
    typer.echo(
        f"aligned {len(scored)} utterances -> {out}; {len(low)} score under {below} ({fate})"
    )
    for score, utt in low[:20]:
        typer.echo(f"{score:.3f}\t{utt.audio}\t{utt.text}")
    errors = [err for _, _, err in scored if err is not None]
    for err in errors:  # after the results: each one line, as transcribe reports them
        typer.echo(f"asr: error: {err}", err=True)
    if errors:
        raise typer.Exit(1)


def align_recording(
    source: Path, transcript: Path, srt: Path | None, vtt: Path | None, model
) -> None:
    """`asr align AUDIO TRANSCRIPT`: one JSON line, and subtitles if asked, their folders
    made before the model is loaded."""
    from asr.align import align_file, alignment_score
    from asr.transcribe import Transcriber

    if not transcript.is_file():
        fail(f"{transcript}: no such transcript file")
    text = transcript.read_text(encoding="utf-8", errors="replace")
    subtitles = subtitle_dirs(srt, vtt)
    hyp = align_file(Transcriber.from_file(model), source, text)
    if subtitles:
        from asr.subtitles import write_subtitles

        write_subtitles(hyp.words, source.stem, subtitles)
    words = [w.to_dict() for w in hyp.words]
    record = {"audio": str(source), "text": hyp.text, "score": round(alignment_score(hyp), 4)}
    typer.echo(json.dumps({**record, "words": words}))


@app.command()
@user_errors
def train(
    config: Annotated[Path, typer.Argument(help="YAML config, e.g. configs/blstm.yaml.")],
    train_manifest: Annotated[Path, typer.Option("--train", help="Training manifest.")],
    valid: Annotated[
        list[Path],
        typer.Option(
            "--valid",
            help="Validation manifest; repeat to track several (the first picks the best checkpoint).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder for checkpoints and curves.")],
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from OUT's training state.")
    ] = False,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config field: key.sub=value.")
    ] = None,
    init: Annotated[
        Path | None,
        typer.Option(
            "--init",
            help="Start from this model file's weights (fine-tune); `default` / `streaming`: "
            "a bundled model.",
        ),
    ] = None,
):
    """Train a CTC model; writes OUT/best.safetensors, last.safetensors and training_curves.png."""
    from asr.config import load_config
    from asr.train import train as run_training

    cfg = load_config(config, overrides)
    result = run_training(
        cfg, train_manifest, valid, out, resume=resume, show_progress=True, init=init
    )
    typer.echo(
        f"trained {result.step} steps; best validation WER {result.best_wer:.4f}; model: {out / 'best.safetensors'}"
    )


@app.command()
@user_errors
@with_decoding_flags
def live(
    model: Annotated[
        Path | None,
        typer.Option("--model", help="Causal model file (default: the bundled streaming model)."),
    ] = None,
    device: Annotated[
        str | None, typer.Option("--device", help="Input device number or name substring.")
    ] = None,
    list_devices: Annotated[
        bool, typer.Option("--list-devices", help="List audio devices and exit.")
    ] = False,
    chunk_ms: Annotated[float, typer.Option("--chunk-ms", help="Audio per decoding step.")] = 160,
    input_file: Annotated[
        Path | None, typer.Option("--input", help="Read this file instead of the microphone.")
    ] = None,
    speed: Annotated[
        float, typer.Option("--speed", help="--input pace: N times real time (0: no waiting).")
    ] = 1.0,
    endpoint_ms: Annotated[
        float, typer.Option("--endpoint-ms", help="Trailing silence that ends an utterance.")
    ] = 800,
    json_output: JsonOption = False,
    record: Annotated[
        Path | None, typer.Option("--record", help="Also save the audio heard to this WAV.")
    ] = None,
    alternatives: AlternativesOption = 0,
    decoding: DecodingFlags = DecodingFlags(),
):
    """Transcribe the microphone (or --input FILE) as you speak: partials in place, finals on
    their own lines; --json prints one event per line. Ctrl-C flushes the last words."""
    import sys

    from asr import live as live_audio
    from asr.stream import EndpointRules

    if list_devices:
        typer.echo(live_audio.list_devices())
        return
    import math

    check_flag(chunk_ms > 0, "--chunk-ms", "positive", chunk_ms)
    check_flag(math.isfinite(chunk_ms), "--chunk-ms", "a finite number", chunk_ms)
    check_flag(speed >= 0, "--speed", "0 or more", speed)
    check_flag(math.isfinite(speed), "--speed", "a finite number", speed)
    check_flag(endpoint_ms > 0, "--endpoint-ms", "positive", endpoint_ms)
    if record is not None:
        from asr.outputs import output_file

        output_file(record)  # a bad --record path is one line before the model loads
    rules = EndpointRules(min_trailing_blank_s=endpoint_ms / 1000)
    beam = decoding.options(model)
    check_alternatives(alternatives, json_output, beam)
    loader = None
    from asr.onnx_runtime import is_onnx_export

    if is_onnx_export(model):  # onnxruntime, no torch
        from asr.onnx_runtime import OnnxRecognizer, load_audio_np

        recognizer = OnnxRecognizer(model, rules, beam=beam, alternatives=alternatives)
        loader = load_audio_np
    else:
        import torch

        from asr.bundled import STREAMING_MODEL
        from asr.streaming import Recognizer

        recognizer = Recognizer.from_file(model or STREAMING_MODEL, rules, beam, alternatives)
        # One thread: a 160 ms chunk is too small to share out, and a second thread that has
        # to wait for a busy core stalls every step (3.7x slower here beside two busy jobs).
        torch.set_num_threads(1)
    rate = recognizer.settings.sample_rate
    if input_file is not None:
        source = live_audio.FileSource(input_file, rate, chunk_ms, speed, loader)
    else:
        chosen = int(device) if device is not None and device.isdigit() else device
        source = live_audio.MicrophoneSource(chosen, rate, chunk_ms)
        typer.echo(f"listening on {source.where} (Ctrl-C to stop)", err=True)
    if json_output:
        emit = lambda event: typer.echo(json.dumps(event.to_dict()))
    else:
        emit = live_audio.TextPrinter(sys.stdout, sys.stdout.isatty())
    chunks = source if record is None else live_audio.Recorded(source, record, rate)
    live_audio.run_live(recognizer, chunks, emit)
    if source.overflows:
        typer.echo(f"asr: warning: {source.overflows} input overflows: audio was dropped", err=True)


@app.command()
@user_errors
def prepare(
    corpus: Annotated[
        str,
        typer.Argument(
            help="fsdd, speechocean762, librispeech, commonvoice, kaldi, or folder (your own "
            "recordings: NAME.wav + NAME.txt pairs, or an LJSpeech metadata.csv)."
        ),
    ],
    src: Annotated[Path, typer.Argument(help="The corpus folder (a Kaldi data dir for kaldi).")],
    out: Annotated[Path, typer.Argument(help="Folder for the manifests.")],
):
    """Write JSON Lines manifests for a corpus on disk, split by speaker where it has splits."""
    from asr.corpora import CORPORA
    from asr.errors import AsrError
    from asr.manifest import read_manifest

    if corpus not in CORPORA:
        raise AsrError(corpus, f"unknown corpus; known: {', '.join(sorted(CORPORA))}")
    if not src.is_dir():
        raise AsrError(str(src), "no such folder")
    for path in CORPORA[corpus](src, out):
        utterances = read_manifest(path)
        hours = sum(u.duration for u in utterances) / 3600
        typer.echo(f"{path}: {len(utterances)} utterances, {hours:.2f} h")


@app.command()
@user_errors
def info(
    model: Annotated[
        Path | None,
        typer.Argument(help="Model file, bundled name or export folder (default: the bundled)."),
    ] = None,
    json_output: JsonOption = False,
):
    """What a model holds: encoder, size, features, tokenizer, calibration, training record."""
    from asr.model_info import describe, format_info

    facts = describe(model)
    typer.echo(json.dumps(facts) if json_output else "\n".join(format_info(facts)))


@app.command()
@user_errors
def export(
    model: Annotated[
        Path | None, typer.Argument(help="Model file (default: the bundled one).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the ONNX files.")] = Path("onnx"),
    int8: Annotated[
        bool, typer.Option("--int8", help="Also write dynamic-int8 copies of the model and step.")
    ] = False,
    lm: Annotated[
        Path | None,
        typer.Option(
            "--lm", help="Word LM to copy in (default: the bundled LM for a bundled model)."
        ),
    ] = None,
    no_lm: NoLmOption = False,
):
    """Export to ONNX (features, model, streaming step, and an LM); `--model DIR` then runs
    it on onnxruntime without torch, decoding as `asr transcribe` does (the bundled model's
    export: beam search with the bundled LM), `--model DIR/model.int8.onnx` its int8 copies."""
    from asr.export import export as run_export

    for path in run_export(model, out, int8, lm_or_bundled(model, lm, no_lm)):
        typer.echo(f"{path}  {path.stat().st_size / 1e6:.2f} MB")


@app.command()
@user_errors
def average(
    models: Annotated[
        list[Path],
        typer.Argument(help="Model files, or training run folders (their snapshots/)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="The averaged model file.")],
    last: Annotated[
        int | None,
        typer.Option("--last", help="Of each run folder, only its newest N snapshots."),
    ] = None,
    half: Annotated[
        bool, typer.Option("--half", help="Store the weights as float16: half the file size.")
    ] = False,
):
    """Average the weights of several snapshots of one training run into one model file
    (one file: a float16 copy of it with --half)."""
    from asr.average import average_models, expand_runs

    paths = expand_runs(models, last)
    average_models(paths, out, half=half)
    typer.echo(f"{out}: mean of {len(paths)} models")


@app.command()
@user_errors
@with_decoding_flags
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="Causal model file, or its `asr export` folder to serve without torch "
            "(default: the bundled streaming model).",
        ),
    ] = None,
    max_connections: Annotated[int, typer.Option(help="Concurrent WebSocket streams.")] = 16,
    idle_timeout: Annotated[float, typer.Option(help="Close a stream silent this long (s).")] = 30,
    endpoint_ms: Annotated[
        float, typer.Option("--endpoint-ms", help="Trailing silence that ends an utterance.")
    ] = 800,
    alternatives: AlternativesOption = 0,
    decoding: DecodingFlags = DecodingFlags(),
):
    """Live captions over WebSocket (/ws), file transcription over HTTP (POST /transcribe),
    and a web page at / that captions the browser's microphone."""
    from asr.server import Limits, build_app, listening_socket
    from asr.server import serve as serve_app
    from asr.stream import EndpointRules

    check_flag(endpoint_ms > 0, "--endpoint-ms", "positive", endpoint_ms)
    check_flag(max_connections >= 1, "--max-connections", "at least 1", max_connections)
    check_flag(idle_timeout > 0, "--idle-timeout", "positive", idle_timeout)
    options = decoding.options(model)
    check_alternatives(alternatives, True, options)  # the server speaks JSON
    sock = listening_socket(host, port)
    rules = EndpointRules(min_trailing_blank_s=endpoint_ms / 1000)
    from asr.onnx_runtime import is_onnx_export

    if is_onnx_export(model):  # onnxruntime, no torch
        from asr.onnx_runtime import OnnxRecognizer

        recognizer = OnnxRecognizer(model, rules, beam=options, alternatives=alternatives)
    else:
        from asr.bundled import STREAMING_MODEL
        from asr.streaming import Recognizer

        recognizer = Recognizer.from_file(model or STREAMING_MODEL, rules, options, alternatives)
    limits = Limits(max_connections=max_connections, idle_timeout_s=idle_timeout)
    serve_app(build_app(recognizer, limits), sock)


def _join_summary_lines(typer_app: typer.Typer) -> None:
    """`asr --help` lists each command by its docstring's first paragraph, but typer keeps
    that paragraph's line breaks, which cut the listing mid-sentence: join them."""
    for info in typer_app.registered_commands:
        if info.short_help is None and info.callback is not None:
            summary = (inspect.getdoc(info.callback) or "").split("\n\n")[0]
            info.short_help = " ".join(summary.split())


_join_summary_lines(app)

if __name__ == "__main__":
    app()
