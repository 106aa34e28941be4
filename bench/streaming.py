"""Streaming cost and latency of causal models, single-threaded, against offline decoding.

    python bench/streaming.py [--model M ...] [--config C ...] [--manifest M] [--utts 40]
                              [--chunk-ms 160] [--reference MODEL] [--lm FILE [--beam 32]]
                              [--onnx]

For each model (trained files with --model; random weights of a config's size with --config,
which measures speed and memory only), prints:
  - real-time factor of chunk-by-chunk streaming and of offline decoding of the same audio,
    and their ratio (both measured here, in this run);
  - algorithmic latency: the chunk plus the front end's look-ahead past a frame's end;
  - partial latency at real-time pace: from the end of each word in the audio to the moment
    its last letter shows in a partial (mean and 95th percentile). Chunk i "arrives" when its
    last sample has been spoken and is decoded once the decoder is free, so a slow decoder
    queues up and shows as latency. Word ends in the audio are the manifest's own word
    times where its lines carry them ("words": [{word, start, end}], as the synthesizer
    reports them in recipes/synth/local/timed.py: the truth); otherwise they come from
    forcing the true transcript through the offline --reference model (default: the bundled
    BiLSTM), an estimate. Only words the streaming model gets right count;
  - peak memory (resident set high-water mark while decoding, over the process baseline).
With --lm the streams decode by beam search with that LM (as `asr live --lm`), a word shows
when the partial hypothesis holds it at its final place and keeps it there to the end, and
the word accuracy of the streamed finals is printed too. With --onnx each model is also
exported (`asr export --int8`, to a temporary folder) and measured again on onnxruntime (the
same search, --lm included), with fp32 and with int8 weights: the deployment path, against
torch in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import jiwer
import torch
import torchaudio

from asr.audio import load_audio
from asr.beam import BeamOptions
from asr.bundled import DEFAULT_MODEL, STREAMING_MODEL
from asr.checkpoint import LoadedModel, load_model, save_model
from asr.config import load_config
from asr.decoding import Word, collapse_path, words_from_tokens
from asr.export import export
from asr.features import FeatureStats
from asr.manifest import read_manifest
from asr.model import CTCModel
from asr.onnx_runtime import OnnxRecognizer
from asr.streaming import EndpointRules, Recognizer
from asr.text import CharTokenizer
from asr.transcribe import Transcriber

SAMPLES = Path(__file__).resolve().parent.parent / "asr" / "samples" / "samples.jsonl"


def peak_rss_reset() -> None:
    """Reset the kernel's resident-set high-water mark (Linux: write 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def stream_file(rec: Recognizer, wave: torch.Tensor, chunk: int):
    """Decode chunk by chunk; -> (compute seconds, the hypothesis' words, when each word
    showed on the simulated real-time clock)."""
    stream = rec.create_stream()
    rate = rec.settings.sample_rate
    compute, free_at, done_at, partials = 0.0, 0.0, [], []
    for offset in range(0, len(wave), chunk):
        piece = wave[offset : offset + chunk]
        arrives = (offset + len(piece)) / rate
        started = time.perf_counter()
        stream.accept_waveform(piece)
        rec.decode(stream)
        spent = time.perf_counter() - started
        compute += spent
        free_at = max(free_at, arrives) + spent
        done_at += [free_at] * (stream.decoded_frames - len(done_at))
        if stream.beam is not None:
            partials.append((free_at, [w.word for w in stream.partial.words]))
    tokens = list(stream.tokens)  # the flush below ends the utterance and clears them
    stream.input_finished()
    started = time.perf_counter()
    finals = rec.decode(stream)
    spent = time.perf_counter() - started
    compute += spent
    if stream.beam is None:  # a word shows with its last letter
        words = words_from_tokens(tokens, rec.tokenizer, rec.frame_seconds).words
        # words_from_tokens ends a word one frame after its last letter: that frame index - 1.
        ends = [round(w.end / rec.frame_seconds) - 1 for w in words]
        return compute, words, [done_at[min(f, len(done_at) - 1)] for f in ends]
    # Beam search: final word j shows at the first partial from which every later partial
    # holds it as its word j (else when the stream is flushed).
    words = [w for hyp in finals for w in hyp.words]
    shown = [max(free_at, len(wave) / rate) + spent] * len(words)
    for j, word in enumerate(words):
        for at, partial in reversed(partials):
            if len(partial) <= j or partial[j] != word.word:
                break
            shown[j] = at
    return compute, words, shown


def word_latencies(
    words, shown, reference_words, speech_end: float | None
) -> list[tuple[bool, float]]:
    """Seconds from each word's end in the audio to when it showed (`shown`, per hypothesis
    word), for the words that the minimum-edit alignment (the one WER counts) finds correct:
    a repeated word is never paired with another occurrence of itself far away."""
    if not words or not reference_words:
        return []
    ref = " ".join(w.word for w in reference_words)
    alignment = jiwer.process_words(ref, " ".join(w.word for w in words)).alignments[0]
    out = []
    for chunk in alignment:
        if chunk.type != "equal":
            continue
        for k in range(chunk.ref_end_idx - chunk.ref_start_idx):
            i = chunk.ref_start_idx + k
            # Without true times the last word ends where the speech does: energy marks that
            # better than a spike.
            last = i == len(reference_words) - 1
            end = speech_end if last and speech_end is not None else reference_words[i].end
            out.append((last, shown[chunk.hyp_start_idx + k] - end))
    return out


def p95(ascending: list[float]) -> float:
    """95th percentile of sorted values (the nearest rank at or below it)."""
    return ascending[min(len(ascending) - 1, int(0.95 * len(ascending)))]


def speech_end(wave: torch.Tensor, rate: int, floor_db: float = 40.0) -> float:
    """End of the last 10 ms frame within floor_db of the loudest one: where speech stops."""
    hop = rate // 100
    frames = wave[: len(wave) // hop * hop].view(-1, hop)
    rms = frames.pow(2).mean(dim=1).sqrt()
    loud = (rms > rms.max() * 10 ** (-floor_db / 20)).nonzero()
    return (int(loud.max()) + 1) * hop / rate if len(loud) else 0.0


def true_word_ends(reference: Transcriber, wave: torch.Tensor, text: str):
    """The transcript's words with times, forced-aligned by the reference model; [] when the
    audio is too short for the text."""
    tokenizer = reference.loaded.tokenizer
    targets = torch.tensor([tokenizer.encode(text)], dtype=torch.int32)
    log_probs = reference.log_probs(wave)
    try:
        path, _ = torchaudio.functional.forced_align(
            log_probs.unsqueeze(0), targets, blank=tokenizer.blank_id
        )
    except RuntimeError:
        return []
    emitted = collapse_path(path[0].tolist(), tokenizer.blank_id)
    return words_from_tokens(emitted, tokenizer, reference.frame_seconds).words


def models(args) -> list[tuple[str, LoadedModel]]:
    found = [(str(m), load_model(m)) for m in args.model]
    for config in args.config:
        cfg = load_config(config)
        torch.manual_seed(0)
        model = CTCModel(cfg.model, cfg.features.n_mels, 29).eval()
        stats = FeatureStats.identity(cfg.features.n_mels)
        found.append(
            (f"{config} (random weights)", LoadedModel(model, cfg, CharTokenizer(), stats))
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], type=Path)
    parser.add_argument("--config", action="append", default=[], type=Path)
    parser.add_argument("--manifest", type=Path, default=SAMPLES)
    parser.add_argument("--utts", type=int, default=40)
    parser.add_argument("--chunk-ms", type=float, default=160)
    parser.add_argument("--reference", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--lm", type=Path, help="beam search with this LM, as asr live --lm")
    parser.add_argument("--beam", type=int, default=BeamOptions.beam)
    parser.add_argument("--onnx", action="store_true", help="also export and run onnxruntime")
    args = parser.parse_args()
    beam = BeamOptions(beam=args.beam, lm=args.lm) if args.lm else None
    if not args.model and not args.config:
        args.model = [STREAMING_MODEL]
    torch.set_num_threads(1)
    utts = read_manifest(args.manifest)[: args.utts]
    waves = [load_audio(u.audio, 16000) for u in utts]
    audio_s = sum(len(w) for w in waves) / 16000
    timed = all("words" in u.extra for u in utts)
    if timed:
        ref_words = [[Word(**w) for w in u.extra["words"]] for u in utts]
        # True times: the last word's end is known too, no energy estimate needed.
        ends = [None] * len(utts)
    else:
        reference = Transcriber(load_model(args.reference))
        ref_words = [true_word_ends(reference, w, u.text) for w, u in zip(waves, utts, strict=True)]
        ends = [speech_end(w, 16000) for w in waves]
    ends_from = "from the manifest (true times)" if timed else f"forced-aligned by {args.reference}"
    final_ends = "their true end" if timed else "the end of speech"
    print(f"{len(waves)} utterances, {audio_s:.1f} s of audio from {args.manifest}; "
          f"chunk {args.chunk_ms:g} ms; 1 thread; word ends {ends_from}; "
          f"{f'beam {args.beam} with {args.lm}' if beam else 'greedy'}")  # fmt: skip
    header = (f"{'model':48} {'params':>7} {'RTF stream':>10} {'RTF offline':>11} {'ratio':>6} "
              f"{'algo ms':>7} {'lat mean':>8} {'lat p95':>8} {'peak MiB':>8}")  # fmt: skip
    print(header)

    def report(name: str, params: float, lookahead_ms: float, rec, waves) -> None:
        """One row: stream and decode offline every wave with `rec` (torch or onnxruntime)."""
        chunk = round(rec.settings.sample_rate * args.chunk_ms / 1000)
        for w in waves[:2]:  # warm up
            stream_file(rec, w, chunk)
        baseline = rss_kib("VmRSS")
        peak_rss_reset()
        stream_s, latencies, hyps = 0.0, [], []
        for wave, words, end in zip(waves, ref_words, ends, strict=True):
            spent, emitted, shown = stream_file(rec, wave, chunk)
            stream_s += spent
            latencies += word_latencies(emitted, shown, words, end)
            if beam is not None:
                hyps.append(" ".join(w.word for w in emitted))
        peak_mib = max(0, rss_kib("VmHWM") - baseline) / 1024
        started = time.perf_counter()
        for wave in waves:
            rec.transcribe_wave(wave)
        offline_s = time.perf_counter() - started
        lat = sorted(x for _, x in latencies) or [float("nan")]
        final_words = sum(last for last, _ in latencies)  # not len(finals): that has a nan for none
        finals = sorted(x for last, x in latencies if last) or [float("nan")]
        print(f"{name[-48:]:48} {params:6.2f}M {stream_s / audio_s:10.4f} "
              f"{offline_s / audio_s:11.4f} {stream_s / offline_s:5.2f}x "
              f"{args.chunk_ms + lookahead_ms:7.0f} {1000 * statistics.fmean(lat):7.0f}ms "
              f"{1000 * p95(lat):7.0f}ms {peak_mib:8.1f}")  # fmt: skip
        if latencies:
            print(f"  {len(lat)} correctly recognized words; the {final_words} utterance-final ones "
                  f"(timed from {final_ends}): mean {1000 * statistics.fmean(finals):.0f} ms, "
                  f"p95 {1000 * p95(finals):.0f} ms")  # fmt: skip
        else:
            print("  (no word matched the reference: latency is not measured for this model)")
        if hyps:
            wer = jiwer.wer([u.text for u in utts], hyps)
            print(f"  streamed finals (beam search): WER {wer:.3f} on these {len(utts)} utterances")

    rules = EndpointRules(min_trailing_blank_s=float("inf"))
    for name, loaded in models(args):
        rec = Recognizer(loaded, rules, beam)
        # Encoder frame k reads samples up to 640k + 1360: 45 ms past its 40 ms frame's end.
        hop = rec.settings.hop_length
        lookahead_ms = 1000 * (6 * hop + rec.settings.win_length - 4 * hop) / 16000
        params = loaded.model.num_parameters() / 1e6
        report(name, params, lookahead_ms, rec, waves)
        if args.onnx:
            with tempfile.TemporaryDirectory() as tmp:
                model_file, folder = Path(tmp) / "m.safetensors", Path(tmp) / "onnx"
                save_model(model_file, loaded.model, loaded.config, loaded.tokenizer, loaded.stats)
                export(model_file, folder, int8=True)
                waves_np = [w.numpy() for w in waves]
                for weights, label in (("", "onnx"), ("model.int8.onnx", "onnx int8")):
                    onnx = OnnxRecognizer(folder / weights, rules, beam=beam)
                    suffix = f" ({label})"
                    report(
                        name[-(48 - len(suffix)) :] + suffix, params, lookahead_ms, onnx, waves_np
                    )


if __name__ == "__main__":
    main()
