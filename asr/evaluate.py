"""Word and character error rates (jiwer), with counts, real-time factor and a report."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import jiwer
from rich.console import Console
from rich.progress import Progress

from asr.confidence import auroc, calibration_error, right_words
from asr.errors import AsrError
from asr.manifest import read_checked_manifest
from asr.outputs import output_file, output_folder
from asr.significance import Interval, compare, wer_interval
from asr.text import normalize_text

if TYPE_CHECKING:  # an export folder is scored without torch
    from asr.adapt import AdaptOptions

_STDERR = Console(stderr=True)  # stdout carries the results (--json goes to pipes)


@dataclass
class Scores:
    wer: float
    cer: float
    utterances: int
    words: int
    substitutions: int
    deletions: int
    insertions: int
    rtf: float = 0.0  # decoding seconds per audio second
    groups: dict[str, Scores] = field(default_factory=dict)  # by a manifest key (--by)
    # how well word confidence ranks right hypothesis words above wrong ones (asr/confidence.py)
    confidence_auroc: float | None = None
    # how far word confidence is from the fraction of words that are right (10-bin ECE; 0 is
    # calibrated, asr calibrate fits it)
    confidence_error: float | None = None
    # 95% bootstrap interval of the WER (asr/significance.py); None with nothing to resample
    wer_interval: Interval | None = None
    tally: Tally | None = field(default=None, repr=False)  # per utterance, for comparisons

    def to_dict(self) -> dict:
        unset = {k for k in ("confidence_auroc", "confidence_error") if getattr(self, k) is None}
        skip = {"groups", "wer_interval", "tally"} | unset
        record = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        if self.wer_interval:
            record["wer_ci95"] = self.wer_interval.to_list()
            record["ci_resampled"] = self.wer_interval.unit
        if self.groups:
            record["groups"] = {
                name: {k: v for k, v in group.to_dict().items() if k != "rtf"}
                for name, group in self.groups.items()
            }
        return record


@dataclass(frozen=True)
class Tally:
    """Word errors and reference words per utterance, with its speaker (None: not named)."""

    errors: list[int]
    words: list[int]
    speakers: list[str | None]


def utterance_errors(output, hyps: list[str]) -> list[int]:
    """Word errors per utterance, read off the alignments of the corpus-level jiwer `output`
    that gave the totals (None where no reference has a word: every word is inserted)."""
    if output is None:
        return [len(h.split()) for h in hyps]
    return [
        sum(c.hyp_end_idx - c.hyp_start_idx if c.type == "insert" else c.ref_end_idx - c.ref_start_idx
            for c in chunks if c.type != "equal")
        for chunks in output.alignments
    ]  # fmt: skip


NO_GROUP = "(none)"  # utterances whose manifest line lacks the --by key


def group_scores(utterances, refs: list[str], hyps: list[str], key: str) -> dict[str, Scores]:
    """Scores per value of a manifest key (speaker, age, ...), worst WER first: where a
    model fails is often one accent or one microphone, which a total hides."""
    values = [str(u.extra[key]) if key in u.extra else NO_GROUP for u in utterances]
    groups = {}
    for value in sorted(set(values)):
        members = [i for i, v in enumerate(values) if v == value]
        groups[value] = score([refs[i] for i in members], [hyps[i] for i in members],
                              [speaker_of(utterances[i]) for i in members])  # fmt: skip
    return dict(sorted(groups.items(), key=lambda item: -item[1].wer))


def speaker_of(utterance) -> str | None:
    speaker = utterance.extra.get("speaker")
    return None if speaker is None else str(speaker)


def score(references: list[str], hypotheses: list[str], speakers=None) -> Scores:
    """WER/CER over normalized text; empty references are allowed (every word is inserted).
    With `speakers` (one per utterance, None where unnamed), also the WER's 95% interval."""
    refs = [normalize_text(r) for r in references]
    hyps = [normalize_text(h) for h in hypotheses]
    words = jiwer.process_words(refs, hyps) if any(refs) else None
    chars = jiwer.process_characters(refs, hyps) if any(refs) else None
    n_words = sum(len(r.split()) for r in refs)
    scores = Scores(
        wer=words.wer if words else float(any(hyps)),
        cer=chars.cer if chars else float(any(hyps)),
        utterances=len(refs),
        words=n_words,
        substitutions=words.substitutions if words else 0,
        deletions=words.deletions if words else 0,
        insertions=words.insertions if words else sum(len(h.split()) for h in hyps),
    )
    if speakers is not None:
        per_words = [len(r.split()) for r in refs]
        scores.tally = Tally(utterance_errors(words, hyps), per_words, list(speakers))
        scores.wer_interval = wer_interval(scores.tally.errors, scores.tally.words, speakers)
    return scores


def evaluate_manifest(
    transcriber,
    manifest: str | Path,
    report: str | Path | None = None,
    trn_dir: str | Path | None = None,
    plot_dir: str | Path | None = None,
    plots: int = 4,
    group_by: str | None = None,
    adapt_speakers: AdaptOptions | None = None,
):
    """Decode every utterance of `manifest` -> Scores (with RTF, and per value of the manifest
    key `group_by`); optionally write a report, sclite's trn files and posteriogram pictures
    of the first `plots` utterances. `adapt_speakers` decodes each speaker's utterances with a
    copy of the model tuned to all of them (Transcriber.adapted_to)."""
    utterances = read_checked_manifest(manifest)  # a bad file stops it before, not during
    if report:  # a bad destination stops it before decoding, not after
        output_file(report)
    for folder in (trn_dir, plot_dir):
        if folder:
            output_folder(folder)
    if plot_dir:  # a runtime-only install has no matplotlib: say so before decoding, not after
        import matplotlib  # noqa: F401
    if adapt_speakers and not any(speaker_of(u) for u in utterances):
        raise AsrError(str(manifest), "no utterance names a speaker to adapt to")
    if group_by and not any(group_by in u.extra for u in utterances):
        raise AsrError(str(manifest), f"no utterance has the key '{group_by}' to group by")
    rate = transcriber.settings.sample_rate
    hypotheses: list = [None] * len(utterances)
    plotted = [transcriber] * min(plots if plot_dir else 0, len(utterances))
    audio_seconds, decode_seconds = 0.0, 0.0
    with Progress(console=_STDERR, transient=True) as bar:
        task = bar.add_task("decoding", total=len(utterances))
        for members in decoding_groups(utterances, adapt_speakers is not None):
            decoder, waves = transcriber, {}
            if adapt_speakers:  # the group's audio is read first to tune on; tuning is timed
                waves = {i: transcriber.load_wave(utterances[i].audio) for i in members}
                speaker = speaker_of(utterances[members[0]]) or "one utterance"
                bar.update(task, description=f"tuning to {speaker}")
                started = time.perf_counter()
                decoder = transcriber.adapted_to(list(waves.values()), adapt_speakers)
                decode_seconds += time.perf_counter() - started
                bar.update(task, description="decoding")
            for i in members:
                wave = waves.pop(i) if waves else transcriber.load_wave(utterances[i].audio)
                started = time.perf_counter()
                hypotheses[i] = decoder.transcribe_wave(wave)
                decode_seconds += time.perf_counter() - started
                if i < len(plotted):
                    plotted[i] = decoder
                audio_seconds += wave.shape[-1] / rate
                bar.advance(task)
    refs = [utt.text for utt in utterances]
    hyps = [hyp.text for hyp in hypotheses]
    confidences = [w.confidence for hyp in hypotheses for w in hyp.words]
    right = [
        r for utt, hyp in zip(utterances, hyps) for r in right_words(normalize_text(utt.text), hyp)
    ]
    scores = score(refs, hyps, [speaker_of(u) for u in utterances])
    scores.rtf = decode_seconds / max(audio_seconds, 1e-9)
    if None not in confidences and 0 < sum(right) < len(right):
        scores.confidence_auroc = auroc(confidences, right)
        scores.confidence_error = calibration_error(confidences, right)
    if group_by:
        scores.groups = group_scores(utterances, refs, hyps, group_by)
    if report:
        write_report(report, utterances, refs, hyps)
    if trn_dir:
        write_trn(trn_dir, utterances, refs, hyps)
    if plot_dir:  # drawn as decoded: with its speaker's tuned copy where adapting
        plot_utterances(plotted, utterances[:plots], plot_dir)
    return scores


def decoding_groups(utterances, by_speaker: bool) -> list[list[int]]:
    """Utterance indexes in the groups they are decoded in: one per speaker (in order of first
    appearance; an utterance that names none is alone) when adapting to speakers, else one."""
    if not by_speaker:
        return [list(range(len(utterances)))]
    groups: dict = {}
    for index, utt in enumerate(utterances):
        groups.setdefault(speaker_of(utt) or ("alone", index), []).append(index)
    return list(groups.values())


def compare_scores(scores: Scores, baseline: Scores) -> dict:
    """A model's scores against a baseline's on the same manifest (both from
    evaluate_manifest) -> the baseline's WER, the difference, its 95% interval and the share
    of resamples in which the model's WER is lower (asr/significance.py's paired bootstrap)."""
    mine, theirs = scores.tally, baseline.tally
    found = compare(mine.errors, theirs.errors, mine.words, mine.speakers)
    record = {"wer": baseline.wer, "difference": scores.wer - baseline.wer}
    if found is not None:
        record |= {"difference_ci95": found.interval.to_list(),
                   "ci_resampled": found.interval.unit, "better": round(found.better, 4)}  # fmt: skip
    return record


def plot_utterances(transcriber, utterances, out_dir: str | Path) -> list[Path]:
    """Posteriogram and alignment PNG per utterance, named after its position. `transcriber`
    decodes them all, or is a list of one per utterance (each speaker's tuned copy)."""
    from asr.plots import plot_alignment

    out = output_folder(out_dir)
    paths = []
    each = transcriber if isinstance(transcriber, list) else [transcriber] * len(utterances)
    for index, (utt, decoder) in enumerate(zip(utterances, each, strict=True)):
        wave = decoder.load_wave(utt.audio)
        log_probs = decoder.log_probs(wave)
        hyp = decoder.decode_log_probs(log_probs)
        feats = decoder.logmel(wave)
        paths.append(out / f"utt{index:03d}_{Path(utt.audio).stem}.png")
        plot_alignment(feats, log_probs, decoder.tokenizer, hyp, utt.text,
                       decoder.frame_seconds, paths[-1])  # fmt: skip
    return paths


def write_trn(out_dir: str | Path, utterances, refs: list[str], hyps: list[str]) -> None:
    """NIST sclite's trn files, `text (speaker-uttNNNNNN)` per line, normalized as jiwer sees
    them, so `sctk sclite -r ref.trn trn -h hyp.trn trn -i rm` can cross-check the WER."""
    out = output_folder(out_dir)
    ids = []
    for index, utt in enumerate(utterances):
        speaker = re.sub(r"[^A-Za-z0-9]", "", str(utt.extra.get("speaker", ""))) or "spk"
        ids.append(f"{speaker}-utt{index:06d}")
    for name, texts in (("ref.trn", refs), ("hyp.trn", hyps)):
        lines = [f"{normalize_text(t)} ({i})" for t, i in zip(texts, ids, strict=True)]
        (out / name).write_text("\n".join(lines) + "\n")


def write_report(path: str | Path, utterances, refs: list[str], hyps: list[str]) -> None:
    """Per utterance: reference, hypothesis and jiwer's word alignment."""
    lines = []
    for utt, ref, hyp in zip(utterances, refs, hyps):
        ref, hyp = normalize_text(ref), normalize_text(hyp)
        lines.append(f"audio: {utt.audio}")
        if ref:
            out = jiwer.process_words(ref, hyp)
            lines.append(f"wer: {out.wer:.3f}")
            lines.append(jiwer.visualize_alignment(out, show_measures=False).strip())
        else:
            lines.append(f"REF: \nHYP: {hyp}")
        lines.append("")
    Path(path).write_text("\n".join(lines) + "\n")
