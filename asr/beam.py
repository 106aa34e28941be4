"""CTC beam search with an optional n-gram word LM, vocabulary restriction and hotwords.

The search is flashlight-text's CTC decoder (KenLM inside; built as torchaudio builds it, in
asr/search_backend.py, so it runs without torch), not ours:
  - `--beam N` alone: lexicon-free search over characters;
  - `--lm FILE` (ARPA, gzipped ARPA or KenLM binary): words are scored by the LM and spelled
    from the LM's own vocabulary (read from an ARPA file, or `FILE.vocab` beside a binary);
  - `bundled_decoding()`: the bundled English 3-gram with the weights chosen on dev.jsonl,
    what `asr transcribe`/`asr eval` use with the bundled model unless told `--no-lm`;
  - `--vocab FILE`: output restricted to these words (lexicon-constrained search);
  - `--hotwords FILE`: listed words get `hotword_bonus` (natural log) added to the LM score
    of every n-gram that ends in them, so they win close calls. A hotword that the LM
    lacks is added as a unigram. Without --lm, the LM is a uniform unigram model over the
    --vocab words, so hotwords need --vocab or --lm (the words they compete with).
One decoder serves whole files and streams (`begin`/`step`/`partial`/`end`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import gzip
import math
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from asr.bundled import BUNDLED_LM
from asr.decoding import Hypothesis, Word, collapse_path, words_from_tokens
from asr.errors import AsrError
from asr.manifest import read_text_file
from asr.text import normalize_text

if TYPE_CHECKING:
    import torch

LOG10 = math.log(10)


# The search reserves memory per hypothesis: beam 4,096 takes about 1 GB decoding a 4 s
# sample with the bundled LM, 32,768 takes 2.3 GB, and 10 million was killed for memory.
MAX_BEAM = 4096


def flag_of(field: str) -> str:
    """A BeamOptions (or the CLI's DecodingFlags) field -> its command-line flag:
    lm_weight -> --lm-weight."""
    return "--" + field.replace("_", "-")


@dataclass(frozen=True)
class BeamOptions:
    beam: int = 32  # hypotheses kept per frame
    lm: Path | None = None  # KenLM ARPA (plain or .gz) or binary word n-gram model
    # LM log-probability weight and a bonus added per word (< 0 keeps the search from splitting
    # an unclear stretch into short words; > 0 counters an LM's bias to short outputs). None:
    # the model file's own, where `asr tune-lm` stored them, else DEFAULT_LM_WEIGHTS.
    lm_weight: float | None = None
    word_bonus: float | None = None
    vocab: Path | None = None  # allowed words, one per line
    hotwords: Path | None = None  # words to favour, one per line
    hotword_bonus: float = 5.0  # natural-log bonus per hotword

    def __post_init__(self):
        if not 1 <= self.beam <= MAX_BEAM:
            raise AsrError("--beam", f"must be from 1 to {MAX_BEAM} for a beam search, not "
                           f"{self.beam} (0 on the command line: greedy)")  # fmt: skip
        for name in ("lm_weight", "word_bonus", "hotword_bonus"):  # inf or nan: empty output
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise AsrError(flag_of(name), "must be a finite number")

    def for_model(self, info: dict) -> BeamOptions:
        """These options with the LM weight and word bonus left unset taken from a model file's
        header `info` (tuned to that model by `asr tune-lm`), else from DEFAULT_LM_WEIGHTS:
        a word-piece model wants other weights than a letter model."""
        tuned = {**DEFAULT_LM_WEIGHTS, **(info.get(LM_TUNING_KEY) or {})}
        unset = {k: float(tuned[k]) for k in DEFAULT_LM_WEIGHTS if getattr(self, k) is None}
        return dataclasses.replace(self, **unset) if unset else self


LM_TUNING_KEY = "lm_tuning"  # in a model file's header info: {"lm_weight": .., "word_bonus": ..}
# Picked on dev.jsonl for the letter BiLSTM with the bundled LM (WER 0.528 greedy -> 0.368).
DEFAULT_LM_WEIGHTS = {"lm_weight": 1.5, "word_bonus": -1.0}


def bundled_decoding() -> BeamOptions:
    """Beam search with the bundled LM: a 3-gram on the synthetic corpus's training text less
    the dev sentences (recipes/synth stage 7), beam 32, with the LM weight and word bonus the
    model file carries (picked on dev.jsonl by `asr tune-lm`). The CLI's defaults are these
    same BeamOptions defaults."""
    return BeamOptions(lm=BUNDLED_LM)


# A count or frequency after a word in a word list: 'the 12', 'the 0.05'.
_COUNT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def read_words(path: Path) -> list[str]:
    """One word per line, normalized, unique. Anything after a tab is ignored, and so is a
    number after a space (a count: 'the 12'); a line that normalizes to several words ('new
    york', '42') is left out, not split into words nobody listed."""
    if not Path(path).exists():
        raise AsrError(str(path), "no such word list")
    words = []
    for line in read_text_file(Path(path)).splitlines():
        entry = line.partition("\t")[0]
        fields = entry.split()
        if len(fields) == 2 and _COUNT.fullmatch(fields[1]):
            entry = fields[0]
        word = normalize_text(entry)
        if word and " " not in word:
            words.append(word)
    if not words:
        raise AsrError(str(path), "no words in the list")
    return list(dict.fromkeys(words))


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _read_lines(path: Path) -> Iterator[str]:
    """A text file's lines, gunzipped if it is gzip (KenLM reads .arpa.gz itself too), read as
    they are asked for, so a reader that stops early reads no further; split at line feeds
    only (a carriage return before one is dropped)."""
    opener = gzip.open if _is_gzip(path) else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="\n") as f:
            for line in f:
                yield line.removesuffix("\n").removesuffix("\r")
    except (OSError, EOFError) as err:
        raise AsrError(str(path), f"cannot read the language model ({err})") from None


def _arpa_sections(
    path: Path, max_order: int | None = None
) -> tuple[list[str], dict[int, list[str]]]:
    """ARPA file (plain or gzipped) -> (header lines, {order: entry lines}), each entry as
    `prob<TAB>words[<TAB>backoff]`; orders over `max_order` are not read (sections come in
    ascending order, so reading stops at the first). An entry KenLM would refuse is an
    AsrError naming its line."""
    header, sections, order = [], {}, 0
    for number, line in enumerate(_read_lines(path), start=1):
        match = re.fullmatch(r"\\(\d)-grams:", line.strip())
        if match:
            order = int(match.group(1))
            if max_order is not None and order > max_order:
                break
            sections[order] = []
        elif line.strip() == "\\end\\":
            order = -1
        elif order > 0 and line.strip():
            entry = _arpa_entry(line, order)
            if entry is None:
                shown = line if len(line) <= 40 else line[:37] + "..."
                raise AsrError(
                    str(path),
                    f"not an ARPA language model (line {number}: {shown!r} is not a "
                    f"{order}-gram entry: probability<TAB>words[<TAB>backoff])",
                )
            sections[order].append(entry)
        elif order == 0:
            header.append(line)
    if not sections:
        raise AsrError(str(path), "not an ARPA language model (no \\1-grams: section)")
    return header, sections


@functools.cache
def _entry_pattern(order: int) -> re.Pattern:
    """KenLM's reading of an n-gram line: a probability, then a tab for a unigram (blanks for
    longer ones), `order` words apart by blanks, and an optional tab and backoff."""
    gap = r"\t" if order == 1 else r"[ \t]+"
    words = r"[^ \t]+" + r"[ \t]+[^ \t]+" * (order - 1)
    return re.compile(rf"[ \t]*(\S+){gap}({words})(?:\t(\S+))?")


def _arpa_entry(line: str, order: int) -> str | None:
    """An n-gram line -> `prob<TAB>w1 w2[<TAB>backoff]`, or None where KenLM would refuse it
    (a file whose tabs became spaces: its unigrams)."""
    match = _entry_pattern(order).fullmatch(line)
    if match is None:
        return None
    prob, words, backoff = match.groups()
    try:
        float(prob), float(backoff or 0)
    except ValueError:
        return None
    fields = [prob, " ".join(words.split()), *([backoff] if backoff else [])]
    return "\t".join(fields)


def is_arpa(path: Path) -> bool:
    """ARPA text, plain or gzipped (anything else is taken for a KenLM binary)."""
    opener = gzip.open if _is_gzip(path) else open
    try:
        with opener(path, "rb") as f:
            return f.read(64).lstrip().startswith(b"\\data\\")
    except (OSError, EOFError):  # a corrupt .gz: let KenLM name the problem
        return False


@contextlib.contextmanager
def quiet_stderr():
    """KenLM writes its loading banner and progress bar straight to file descriptor 2; keep
    them off the user's terminal (Python-level errors are raised, not printed, meanwhile)."""
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr at all: nothing to protect
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def lm_vocabulary(path: Path) -> list[str]:
    """The words an LM knows: from an ARPA file's unigrams, or `PATH.vocab` for a binary."""
    path = Path(path)
    if not path.exists():
        raise AsrError(str(path), "no such language model")
    if is_arpa(path):
        _, sections = _arpa_sections(path, max_order=1)
        words = [line.split("\t")[1] for line in sections[1]]
        return [w for w in words if w not in ("<s>", "</s>", "<unk>")]
    vocab = Path(str(path) + ".vocab")
    if not vocab.exists():
        raise AsrError(str(path), f"binary LM needs its word list beside it as {vocab.name}")
    return read_words(vocab)


def write_arpa(path: Path, sections: dict[int, list[str]]) -> None:
    counts = [f"ngram {n}={len(sections[n])}" for n in sorted(sections)]
    body = ["\\data\\", *counts, ""]
    for n in sorted(sections):
        body += [f"\\{n}-grams:", *sections[n], ""]
    path.write_text("\n".join(body + ["\\end\\", ""]), encoding="utf-8")


def uniform_lm(words: list[str]) -> dict[int, list[str]]:
    """A unigram model, uniform over `words` (KenLM needs a bigram section: one dummy)."""
    logp = -math.log10(len(words) + 1)
    unigrams = [f"{logp:.6f}\t{w}\t0" for w in ["<s>", *words]] + [f"{logp:.6f}\t</s>"]
    return {1: unigrams, 2: [f"{logp:.6f}\t<s> {words[0]}"]}


def boost_hotwords(sections: dict[int, list[str]], hotwords: list[str], bonus: float) -> None:
    """Raise every n-gram ending in a hotword by `bonus` (natural log); add missing ones."""
    hot, delta = set(hotwords), bonus / LOG10
    known = set()
    for n, lines in sections.items():
        for i, line in enumerate(lines):
            fields = line.split("\t")
            last = fields[1].split(" ")[-1]
            if n == 1:
                known.add(last)
            if last in hot:
                fields[0] = f"{min(0.0, float(fields[0]) + delta):.6f}"
                lines[i] = "\t".join(fields)
    floor = min(float(line.split("\t")[0]) for line in sections[1])
    for word in hotwords:
        if word not in known:
            sections[1].append(f"{min(0.0, floor + delta):.6f}\t{word}\t0")


class BeamDecoder:
    """Beam search over CTC log-probs for one tokenizer; results carry word times."""

    def __init__(self, tokenizer, options: BeamOptions, frame_seconds: float):
        from asr.search_backend import CTCSearch

        options = options.for_model({})  # weights still unset: the defaults
        self.tokenizer, self.options, self.frame_seconds = tokenizer, options, frame_seconds
        self._tmp = tempfile.TemporaryDirectory(prefix="asr-beam-")
        tmp = Path(self._tmp.name)
        spellings = self._lexicon_spellings(options)
        lexicon = None
        if spellings is not None:  # each word spelled in the model's units: letters or pieces
            lexicon = tmp / "lexicon.txt"
            lines = "".join(f"{w}\t{' '.join(units)}\n" for w, units in spellings.items())
            lexicon.write_text(lines, encoding="utf-8")
        self.lexicon_search = lexicon is not None
        lm = self._lm_file(options, list(spellings or ()), tmp)
        self._has_lm = lm is not None  # else the search weighs no LM, whatever the options
        symbols = tokenizer.symbols
        try:
            with quiet_stderr():
                self.decoder = CTCSearch(
                    symbols,
                    lexicon,
                    lm,
                    options.beam,
                    self._searched_lm_weight(options.lm_weight),
                    options.word_bonus,
                    blank_token=symbols[tokenizer.blank_id],
                    sil_token="|",
                    unk_word="<unk>",
                )
        except RuntimeError as err:  # KenLM refused the file; its message spans lines
            reason = str(err).strip().splitlines()[-1].strip(" )")
            raise AsrError(str(options.lm), f"cannot load the language model: {reason}") from None

    def fork(self) -> BeamDecoder:
        """Another search with the same LM, lexicon and options, sharing the LM in memory:
        what each stream of `asr serve` needs. A new BeamDecoder reloads the LM (~0.8 s and
        ~36 MB for the bundled one); a fork takes milliseconds and a search's state."""
        twin = copy.copy(self)
        twin.decoder = self.decoder.fork()
        return twin

    def with_weights(self, lm_weight: float, word_bonus: float) -> BeamDecoder:
        """A fork with another LM weight and word bonus, the LM and lexicon shared."""
        twin = copy.copy(self)
        twin.options = dataclasses.replace(self.options, lm_weight=lm_weight, word_bonus=word_bonus)
        twin.decoder = self.decoder.reweighted(self._searched_lm_weight(lm_weight), word_bonus)
        return twin

    def _searched_lm_weight(self, lm_weight: float) -> float:
        return lm_weight if self._has_lm else 0.0

    def _lexicon_spellings(self, options: BeamOptions) -> dict[str, list[str]] | None:
        """{word: its units} for the words the search may emit (those the model can spell),
        each spelled once: cutting 31,600 LM words into pieces takes sentencepiece 0.08 s."""
        words = None
        if options.vocab:
            words = read_words(options.vocab)
        elif options.lm:
            words = lm_vocabulary(options.lm)
        if options.hotwords:
            if words is None:
                raise AsrError(str(options.hotwords), "--hotwords needs --vocab or --lm")
            words = list(dict.fromkeys(words + read_words(options.hotwords)))
        if words is None:
            return None
        spellings = {w: units for w in words if (units := self.tokenizer.spell(w))}
        if not spellings:
            raise AsrError(
                str(options.vocab or options.lm), "no word is spelled in the model's alphabet"
            )
        return spellings

    def _lm_file(self, options: BeamOptions, words: list[str], tmp: Path) -> Path | None:
        if not options.hotwords:
            return Path(options.lm) if options.lm else None
        if options.lm:
            if not is_arpa(Path(options.lm)):
                raise AsrError(str(options.lm), "--hotwords needs the LM as an ARPA file")
            _, sections = _arpa_sections(Path(options.lm))
        else:
            sections = uniform_lm([w for w in words if w])
        boost_hotwords(sections, read_words(options.hotwords), options.hotword_bonus)
        path = tmp / "boosted.arpa"
        write_arpa(path, sections)
        return path

    def _hypothesis(self, result, final: bool) -> Hypothesis:
        # flashlight's path has a start frame, and once ended an end frame too
        path = list(result.tokens)[1 : -1 if final else None]
        blank = self.tokenizer.blank_id
        if not self.lexicon_search:
            return words_from_tokens(collapse_path(path, blank), self.tokenizer, self.frame_seconds)
        return self._searched_words(path, list(result.words)[1:], blank)

    def _searched_words(self, path: list[int], word_ids: list[int], blank: int) -> Hypothesis:
        """The words the lexicon search chose, timed from its path. Not the path's letters
        split at '|': flashlight lets a double letter ride on one emission ("three" on a
        path spelling "thre") and lets words follow each other with no '|' between."""
        words: list[Word] = []
        emitted = collapse_path(path, blank)
        letters = [(f, t) for f, t in emitted if not self.tokenizer.is_word_boundary(t)]
        taken = 0  # letters already given to a finished word
        for frame, word_id in enumerate(word_ids):
            if word_id < 0:
                continue
            mine = [f for f, _ in letters[taken:] if f <= frame]
            taken += len(mine)
            start = mine[0] if mine else frame
            text = self.decoder.word_dict.get_entry(word_id)
            words.append(Word(text, start * self.frame_seconds, (frame + 1) * self.frame_seconds))
        if taken < len(letters):  # a partial result's word still in progress
            rest = [(f, t) for f, t in emitted if f >= letters[taken][0]]
            words += words_from_tokens(rest, self.tokenizer, self.frame_seconds).words
        return Hypothesis(" ".join(w.word for w in words), words)

    def __call__(self, log_probs: torch.Tensor) -> Hypothesis:
        """(T, V) log-probs of one utterance -> best hypothesis."""
        self.begin()
        self.step(log_probs)
        return self.end()

    def begin(self) -> None:
        self.decoder.decode_begin()
        self.frames = 0

    def step(self, log_probs: torch.Tensor) -> None:
        """Extend the search by (T, V) more frames."""
        if log_probs.shape[0]:
            self.decoder.decode_step(log_probs)
            self.frames += log_probs.shape[0]

    def partial(self) -> Hypothesis:
        """Best hypothesis so far (it may still change)."""
        if not self.frames:
            return Hypothesis("")
        best = self.decoder.decoder.get_best_hypothesis()
        return self._hypothesis(best, final=False)

    def end(self) -> Hypothesis:
        best = self.end_nbest(1)
        return best[0][0] if best else Hypothesis("")

    def nbest(self, log_probs: torch.Tensor, n: int) -> list[tuple[Hypothesis, float]]:
        """(T, V) log-probs of one utterance -> its `n` best transcripts with their scores."""
        self.begin()
        self.step(log_probs)
        return self.end_nbest(n)

    def end_nbest(self, n: int) -> list[tuple[Hypothesis, float]]:
        """End the search: up to `n` (hypothesis, total log score), best first, distinct in
        text (the final beam also holds other alignments of the same words). At most the
        beam's width: a wider beam finds more."""
        self.decoder.decode_end()
        results = sorted(self.decoder.decoder.get_all_final_hypothesis(), key=lambda r: -r.score)
        found: dict[str, tuple[Hypothesis, float]] = {}
        for result in results:
            hyp = self._hypothesis(result, final=True)
            found.setdefault(hyp.text, (hyp, float(result.score)))
            if len(found) == n:
                break
        return list(found.values())


class HoldsASearch:
    """`new_beam_decoder` and `with_own_search` for the torch `Transcriber` and the
    onnxruntime `OnnxTranscriber` alike: a class with `beam_options` (None: greedy),
    `tokenizer`, `frame_seconds`, and `beam`, its first decoder (set from `new_beam_decoder`)."""

    def new_beam_decoder(self) -> BeamDecoder | None:
        """A beam decoder for these options (None: greedy); it holds one search's state.
        After the first, each is a fork of it: the LM is loaded once, however many streams."""
        if self.beam_options is None:
            return None
        first = getattr(self, "beam", None)
        if first is not None:
            return first.fork()
        return BeamDecoder(self.tokenizer, self.beam_options, self.frame_seconds)

    def with_own_search(self):
        """This transcriber, sharing the model, with a beam search of its own (a fork): for
        decoding in several threads at once. Greedy decoding keeps no state: self."""
        if self.beam is None:
            return self
        twin = copy.copy(self)
        twin.beam = self.beam.fork()
        return twin
