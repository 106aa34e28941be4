"""flashlight-text's CTC beam search, built as torchaudio's `ctc_decoder` builds it, without
torch: an `asr export` folder decodes with an LM on onnxruntime and numpy alone.

Same defaults as torchaudio's (beam threshold 50, unknown words -inf, silence 0, max-merge),
so the torch and onnxruntime paths search alike; log-probs come as anything numpy reads
(a CPU tensor or an array).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from flashlight.lib.text.decoder import (
    CriterionType,
    LexiconDecoder,
    LexiconDecoderOptions,
    LexiconFreeDecoder,
    LexiconFreeDecoderOptions,
    SmearingMode,
    Trie,
    ZeroLM,
)
from flashlight.lib.text.dictionary import Dictionary, create_word_dict, load_words

try:
    from flashlight.lib.text.decoder.kenlm import KenLM
except ImportError:  # older flashlight-text wheels
    from flashlight.lib.text.decoder import KenLM

BEAM_THRESHOLD = 50.0  # torchaudio's default: hypotheses this far below the best are dropped


class CTCSearch:
    """One flashlight decoder with its dictionaries and LM (the attributes torchaudio's
    CTCDecoder has: `decoder`, `word_dict`, `tokens_dict`, `lm`, `blank`)."""

    def __init__(
        self,
        tokens: list[str],
        lexicon: Path | None,
        lm: Path | None,
        beam: int,
        lm_weight: float,
        word_score: float,
        blank_token: str,
        sil_token: str,
        unk_word: str,
    ):
        self.tokens_dict = Dictionary(tokens)
        self.blank = self.tokens_dict.get_index(blank_token)
        silence = self.tokens_dict.get_index(sil_token)
        self._common = {
            "beam_size": beam, "beam_size_token": self.tokens_dict.index_size(),
            "beam_threshold": BEAM_THRESHOLD, "sil_score": 0.0,
            "log_add": False, "criterion_type": CriterionType.CTC,
        }  # fmt: skip
        words = load_words(str(lexicon)) if lexicon else None
        if words is not None:
            self.word_dict = create_word_dict(words)
        else:  # lexicon-free: the LM's words are the tokens themselves, and the unknown word
            spelled = {t: [[t]] for t in tokens} | {unk_word: [[unk_word]]}
            self.word_dict = create_word_dict(spelled) if lm else None
        self.lm = KenLM(str(lm), self.word_dict) if lm else ZeroLM()
        self.trie = None
        if words is not None:  # the spelling trie, each word with its LM unigram score
            self.trie = Trie(self.tokens_dict.index_size(), silence)
            start = self.lm.start(False)
            for word, spellings in words.items():
                index = self.word_dict.get_index(word)
                _, score = self.lm.score(start, index)
                for spelling in spellings:
                    self.trie.insert(
                        [self.tokens_dict.get_index(t) for t in spelling], index, score
                    )
            self.trie.smear(SmearingMode.MAX)
            self._unknown = self.word_dict.get_index(unk_word)
        self._silence = silence
        self._options = self._search_options(lm_weight, word_score)
        self.decoder = self._new_decoder()

    def _search_options(self, lm_weight: float, word_score: float):
        """The trie holds unweighted LM scores: the weights live in the options alone."""
        if self.trie is not None:
            return LexiconDecoderOptions(
                lm_weight=lm_weight, word_score=word_score, unk_score=float("-inf"),
                **self._common,
            )  # fmt: skip
        return LexiconFreeDecoderOptions(lm_weight=lm_weight, **self._common)

    def _new_decoder(self):
        if self.trie is not None:
            return LexiconDecoder(self._options, self.trie, self.lm, self._silence, self.blank,
                                  self._unknown, [], False)  # fmt: skip
        return LexiconFreeDecoder(self._options, self.lm, self._silence, self.blank, [])

    def fork(self) -> CTCSearch:
        """Another search over the same LM, trie and dictionaries, with a state of its own:
        milliseconds, where building one reloads the LM."""
        twin = copy.copy(self)
        twin.decoder = self._new_decoder()
        return twin

    def reweighted(self, lm_weight: float, word_score: float) -> CTCSearch:
        """A fork that weighs the same LM and lexicon otherwise (asr tune-lm's grid)."""
        twin = copy.copy(self)
        twin._options = self._search_options(lm_weight, word_score)
        twin.decoder = twin._new_decoder()
        return twin

    def decode_begin(self) -> None:
        self.decoder.decode_begin()

    def decode_step(self, log_probs) -> None:
        """(T, V) more frames of log-probs."""
        frames = np.ascontiguousarray(log_probs, dtype=np.float32)
        self.decoder.decode_step(frames.ctypes.data, frames.shape[0], frames.shape[1])

    def decode_end(self) -> None:
        self.decoder.decode_end()
