"""Offline transcription: a whole file or waveform through features, model and decoder."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import torch

from asr.adapt import AdaptOptions, adapted_log_probs, adapted_model
from asr.audio import load_audio
from asr.audio_file import is_silent
from asr.beam import BeamOptions, HoldsASearch
from asr.checkpoint import LoadedModel, load_model
from asr.confidence import Calibration, frame_confidence, scored_decode
from asr.decoding import Hypothesis, silence_alternatives
from asr.features import LogMel
from asr.manifest import padded_batches
from asr.model import SUBSAMPLING
from asr.segment import WHOLE_SECONDS, Progress, cut_points, transcribe_in_pieces


class Transcriber(HoldsASearch):
    """Holds a loaded model and turns audio into text with word times."""

    def __init__(
        self,
        loaded: LoadedModel,
        beam: BeamOptions | None = None,
        alternatives: int = 0,
        warps: Sequence[float] = (),
        adapt: AdaptOptions | None = None,
    ):
        """`alternatives` > 0 lists that many best transcripts on each hypothesis
        (`Hypothesis.alternatives`); they come from the beam search, so it needs `beam`.
        `warps` (VTLN_WARPS, say) hears each utterance at these vocal-tract-length warps and
        keeps the one the model is surest of (log_probs). `adapt` tunes a copy of the weights
        to each utterance before decoding it greedily (asr/adapt.py)."""
        if alternatives and beam is None:
            raise ValueError("alternatives need a beam search")
        if adapt is not None and beam is not None:
            raise ValueError("adapt sharpens the posteriors a beam search weighs: greedy only")
        self.alternatives = alternatives
        self.loaded = loaded
        self.tokenizer = loaded.tokenizer
        self.settings = loaded.config.features
        self.logmel = LogMel(self.settings)
        self.warped = [LogMel(self.settings, warp) for warp in warps]
        self.adapt = adapt
        self.frame_seconds = SUBSAMPLING * self.settings.hop_length / self.settings.sample_rate
        self.beam_options = beam.for_model(loaded.info) if beam else None
        self.beam = self.new_beam_decoder()
        self.calibration = Calibration.from_info(loaded.info)  # None: raw word scores

    @classmethod
    def from_file(
        cls,
        path: str | Path | None = None,
        beam: BeamOptions | None = None,
        alternatives: int = 0,
        warps: Sequence[float] = (),
        adapt: AdaptOptions | None = None,
    ):
        return cls(load_model(path), beam, alternatives, warps, adapt)

    def adapted_to(
        self, waves: Sequence[torch.Tensor], options: AdaptOptions, on_step=None
    ) -> Transcriber:
        """This transcriber over a copy of the model tuned to all of `waves` at once (one
        speaker's recordings; asr/adapt.py), decoding as this one does, any search included.
        Recordings over WHOLE_SECONDS are heard in the pieces they are decoded in; digital
        silence teaches nothing and is left out. Word confidences are raw scores: the tuned
        weights are surer of every word, so a calibration fitted to the stored ones misleads.
        `on_step(n)` hears after each tuning step."""
        feats = [self.heard(piece)[0] for wave in waves for piece in self.pieces(wave)]
        blank_id = self.loaded.tokenizer.blank_id
        tuned = adapted_model(self.loaded.model, feats, blank_id, options, on_step)
        twin = copy.copy(self)
        twin.loaded = dataclasses.replace(self.loaded, model=tuned)
        # the calibration was fitted to the stored weights: on FSDD lucas ECE 0.243, raw 0.129
        twin.calibration = None
        twin.beam = self.new_beam_decoder()
        return twin

    def log_probs(self, wave: torch.Tensor) -> torch.Tensor:
        """(N,) waveform at the model rate -> (T', V) CTC log-probabilities; with warps, those
        of the warp whose frames the model is surest of (mean frame confidence); with `adapt`,
        those of weights tuned to the utterance."""
        return self.posteriors(wave)[0]

    def piece_log_probs(self, wave: torch.Tensor) -> list[torch.Tensor]:
        """The log-probs of each of `pieces(wave)`, for callers that search them many ways
        (`asr tune-lm`)."""
        return [self.log_probs(piece) for piece in self.pieces(wave)]

    def pieces(self, wave: torch.Tensor) -> list[torch.Tensor]:
        """The pieces of (N,) `wave` that `transcribe_wave` decodes: a recording over
        WHOLE_SECONDS is cut at pauses; digital silence, which transcribes to nothing, is
        left out."""
        cuts = cut_points(wave.numpy(), self.settings.sample_rate)
        return [wave[start:end] for start, end in cuts if not is_silent(wave[start:end])]

    def posteriors(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N,) waveform -> (T', V) log-probs to decode, and (T', V) log-probs whose frame
        confidence scores the words: the same unless `adapt`. Tuning makes the model surer of
        everything, right or wrong, so the stored weights judge the words, as calibrated."""
        feats, log_probs = self.heard(wave)
        if self.adapt is None or log_probs.shape[0] == 0:
            return log_probs, log_probs
        blank_id = self.loaded.tokenizer.blank_id
        return adapted_log_probs(self.loaded.model, feats, blank_id, self.adapt), log_probs

    @torch.inference_mode()
    def heard(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N,) waveform -> normalized features (T, F) and stored-weight log-probs (T', V), of
        the surest warp where there are several."""
        logmels = self.warped or [self.logmel]
        feats = torch.stack([self.loaded.stats.normalize(m(wave)) for m in logmels])  # (W, T, F)
        if feats.shape[1] == 0:
            return feats[0], torch.zeros(0, len(self.loaded.tokenizer))
        lens = torch.full((len(logmels),), feats.shape[1])  # one batch: warps keep the length
        log_probs, out_lens = self.loaded.model(feats, lens)
        log_probs = log_probs[:, : int(out_lens[0])]
        if len(logmels) == 1:
            return feats[0], log_probs[0]
        sureness = [float(frame_confidence(lp).mean()) for lp in log_probs]
        best = max(range(len(sureness)), key=sureness.__getitem__)
        return feats[best], log_probs[best]

    @torch.inference_mode()
    def transcribe_batch(self, waves: list[torch.Tensor], batch_seconds: float = 60.0):
        """Many waveforms -> their hypotheses (same order), decoded in length-sorted padded
        batches: the same results as one by one, with far fewer, larger matrix products."""
        if self.warped or self.adapt:  # each utterance is a batch of its warps or is tuned alone
            return [self.transcribe_wave(w) for w in waves]
        lengths = [len(w) for w in waves]
        results: list[Hypothesis | None] = [None] * len(waves)
        longest = WHOLE_SECONDS * self.settings.sample_rate
        for i in (i for i, n in enumerate(lengths) if n > longest):  # cut into pieces
            results[i] = self.transcribe_wave(waves[i])
        order = sorted((i for i, n in enumerate(lengths) if n <= longest), key=lengths.__getitem__)
        for group in padded_batches(order, lengths, batch_seconds * self.settings.sample_rate):
            feats = [self.loaded.stats.normalize(self.logmel(waves[i])) for i in group]
            lens = torch.tensor([f.shape[0] for f in feats])
            padded = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)
            if padded.shape[1] == 0:
                padded = padded.new_zeros(len(group), 1, self.settings.n_mels)
            log_probs, out_lens = self.loaded.model(padded, lens)
            for row, i in enumerate(group):
                hyp = self.decode_log_probs(log_probs[row, : int(out_lens[row])])
                results[i] = self.silence() if is_silent(waves[i]) else hyp
        return results

    def transcribe_wave(self, wave: torch.Tensor, progress: Progress | None = None) -> Hypothesis:
        """A recording of any length: over WHOLE_SECONDS it is cut at pauses (asr/segment.py)."""
        rate = self.settings.sample_rate
        return transcribe_in_pieces(wave, rate, self.transcribe_piece, progress)

    def transcribe_piece(self, wave: torch.Tensor) -> Hypothesis:
        """One utterance's waveform, decoded whole."""
        if is_silent(wave):  # digital silence: models trained on speech may still babble
            return self.silence()
        return self.decode_log_probs(*self.posteriors(wave))

    def decode_log_probs(self, log_probs: torch.Tensor, sureness=None) -> Hypothesis:
        """(T', V) log-probs of one utterance -> hypothesis with word confidences (read off
        `sureness`, log-probs over the same frames, if given), by beam search if configured."""
        return scored_decode(log_probs, self.loaded.tokenizer, self.frame_seconds, self.beam,
                             self.calibration, self.alternatives, sureness)  # fmt: skip

    def silence(self) -> Hypothesis:
        """What digital silence transcribes to: nothing, listed as the one alternative."""
        return Hypothesis("", alternatives=silence_alternatives() if self.alternatives else [])

    def load_wave(self, path: str | Path) -> torch.Tensor:
        """A file's audio as this model hears it: mono at its sample rate."""
        return load_audio(path, self.settings.sample_rate)

    def transcribe_file(self, path: str | Path, progress: Progress | None = None) -> Hypothesis:
        return self.transcribe_wave(self.load_wave(path), progress)
