"""Build a varied English sentence corpus from text that ships on this machine.

Why local sources: the machine has no internet, but Debian fortunes, man pages,
package docs, Faker and wordfreq together give tens of thousands of sentences with
a broad vocabulary, which is what a TTS-synthesized training set needs.

Usage: python recipes/synth/local/make_text.py --out DIR [--seed 0] [--heldout FILE]
Writes DIR/train.txt and DIR/heldout.txt (the fixed recipes/synth/heldout.txt, never in
train), one normalized sentence per line.
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from asr.text import normalize_text

FORTUNES = Path("/usr/share/games/fortunes")
MAN_DIRS = [Path("/usr/share/man/man1"), Path("/usr/share/man/man5"), Path("/usr/share/man/man8")]
DOC_DIR = Path("/usr/share/doc")
DPKG_STATUS = Path("/var/lib/dpkg/status")
DICT_WORDS = Path("/usr/share/dict/words")

HELDOUT_FILE = Path(__file__).resolve().parents[1] / "heldout.txt"  # 300 sentences
MIN_WORDS, MAX_WORDS = 3, 25
# Man pages alone would swamp everything else with terse technical prose.
SOURCE_CAPS = {"man": 30000, "doc": 15000}
MAN_BYTES = 60000  # long pages repeat themselves; their openings are the prose

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(]?[A-Z])")
_URL_OR_MAIL = re.compile(
    r"://|www\.|\S@\S|\.(?:com|org|net|html?|py|sh|txt|conf)\b", re.IGNORECASE
)
# Characters that signal code, paths, options or markup rather than speech.
_CODE = re.compile(r"[{}\[\]<>|\\=_#$*/~^`@%+]|(?:^|\s)-{1,2}\w|\w\(\)|\w\.\w")
_ROFF_ESCAPE = re.compile(
    r"\\(?:f(?:\[[^]]*\]|\(..|.)|s[-+]?\d+|\(..|\[[^]]*\]|\*(?:\(..|\[[^]]*\]|.)|[-&e|^ 0c%'`])"
)
_ROFF_TEXT_MACRO = re.compile(r"^\.(?:B|I|BR|RB|IR|RI|BI|IB|SM|SB)\s+(.*)")
_ROFF_BREAK = re.compile(r"^\.(?:SH|SS|PP|P|LP|TP|IP|HP|TH|sp|br|nf|fi|RS|RE|TS|TE|EX|EE)\b")


def split_sentences(paragraph: str) -> list[str]:
    """Split prose on sentence-final punctuation followed by a capital letter."""
    return [s.strip() for s in _SENTENCE_END.split(" ".join(paragraph.split())) if s.strip()]


def paragraphs(lines: Iterable[str]) -> Iterator[str]:
    """Join runs of non-blank lines; blank lines separate paragraphs."""
    block: list[str] = []
    for line in lines:
        if line.strip():
            block.append(line.strip())
        elif block:
            yield " ".join(block)
            block = []
    if block:
        yield " ".join(block)


def read_text(path: Path, limit: int | None = None) -> str:
    """Read plain or gzipped text, tolerating odd encodings."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            return f.read(limit or -1).decode("utf-8", "replace")
    except (OSError, EOFError):
        return ""


def fortune_sentences() -> Iterator[str]:
    """Each fortune cookie, split into sentences; ascii art and the offensive set are skipped."""
    for path in sorted(FORTUNES.iterdir()):
        if path.is_dir() or path.suffix or "art" in path.name:
            continue
        for cookie in read_text(path).split("\n%\n"):
            # Attribution lines ("-- Mark Twain") are not something anyone says.
            body = [line for line in cookie.splitlines() if not line.strip().startswith("--")]
            for para in paragraphs(body):
                yield from split_sentences(para)


def strip_roff(source: str) -> Iterator[str]:
    """Roff source -> plain text lines; requests become paragraph breaks, escapes vanish."""
    for line in source.splitlines():
        macro = _ROFF_TEXT_MACRO.match(line)
        if macro:
            line = macro.group(1).replace('"', "")
        elif _ROFF_BREAK.match(line):
            line = ""
        elif line.startswith((".", "'")):
            continue  # other requests carry no prose
        yield _ROFF_ESCAPE.sub("", line).replace("\\", "")


def man_sentences() -> Iterator[str]:
    """Sentences from section 1, 5 and 8 man pages, rendered by a tiny roff stripper."""
    for folder in MAN_DIRS:
        for path in sorted(folder.glob("*.gz")):
            # ~16k generated gcloud API pages would be 90% of the text, all cloud jargon.
            if path.name.startswith("gcloud"):
                continue
            for para in paragraphs(strip_roff(read_text(path, MAN_BYTES))):
                yield from split_sentences(para)


def doc_sentences() -> Iterator[str]:
    """README/NEWS files of installed packages and their dpkg descriptions."""
    paths = sorted(
        p for p in DOC_DIR.glob("*/*") if re.match(r"(README|NEWS)(\.md|\.txt)?(\.gz)?$", p.name)
    )
    for path in paths + [DPKG_STATUS]:
        for para in paragraphs(read_text(path).replace("\n .\n", "\n\n").splitlines()):
            yield from split_sentences(para)


def prose_ok(sentence: str) -> bool:
    """Reject scraped text that is not speakable prose: code, URLs, symbol soup."""
    if _URL_OR_MAIL.search(sentence) or _CODE.search(sentence):
        return False
    letters = sum(c.isalpha() or c.isspace() for c in sentence)
    return letters >= 0.85 * len(sentence) and sentence[:1].isupper()


def load_vocabulary() -> set[str]:
    """Words a TTS engine can plausibly pronounce: the system dictionary plus common wordfreq words."""
    from wordfreq import top_n_list

    words = {w.lower() for w in DICT_WORDS.read_text(errors="ignore").split()}
    return words | set(top_n_list("en", 60000))


def clean(sentences: Iterable[str], vocab: set[str]) -> list[str]:
    """Normalize scraped sentences, keeping those of sane length made of known words."""
    kept: list[str] = []
    for raw in sentences:
        if not prose_ok(raw):
            continue
        words = normalize_text(raw).split()
        if MIN_WORDS <= len(words) <= MAX_WORDS and all(w in vocab for w in words):
            kept.append(" ".join(words))
    return kept


def scraped_corpus(vocab: set[str], rng: random.Random) -> dict[str, list[str]]:
    """Sentences from the on-disk text sources, deduplicated, capped per source."""
    out = {}
    for name, gen in (
        ("fortune", fortune_sentences),
        ("man", man_sentences),
        ("doc", doc_sentences),
    ):
        unique = list(dict.fromkeys(clean(gen(), vocab)))
        rng.shuffle(unique)  # a cap must sample the whole source, not its first files
        out[name] = unique[: SOURCE_CAPS.get(name)]
    return out


def spoken_number(n: int, kind: str = "cardinal") -> str:
    """Digits as a speaker would say them ("year" reads 1997 as nineteen ninety seven)."""
    from num2words import num2words

    return num2words(n, to=kind).replace("-", " ").replace(",", "")


def spoken_digits(rng: random.Random, length: int) -> str:
    """A digit string read one digit at a time, zero sometimes said as 'oh'."""
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    digits = [rng.randrange(10) for _ in range(length)]
    return " ".join(rng.choice(["zero", "oh"]) if d == 0 else names[d] for d in digits)


def make_faker(rng: random.Random):
    """An en_US Faker with spoken-form providers, so numbers come out as people say them."""
    from faker import Faker
    from faker.providers import BaseProvider

    class Spoken(BaseProvider):
        def phone_words(self) -> str:
            return spoken_digits(rng, rng.choice([7, 10]))

        def spoken_date(self) -> str:
            d = self.generator.date_object()
            return f"{d:%B} {spoken_number(d.day, 'ordinal')} {spoken_number(d.year, 'year')}"

        def clock_time(self) -> str:
            hour, minute = rng.randint(1, 12), rng.choice([0, 5, 10, 15, 20, 30, 40, 45, 50])
            return spoken_number(hour) + (
                " o'clock" if minute == 0 else " " + spoken_number(minute)
            )

        def price_words(self) -> str:
            return f"{spoken_number(rng.randint(1, 999))} dollars and {spoken_number(rng.randint(1, 99))} cents"

    fake = Faker("en_US")
    fake.seed_instance(rng.randrange(2**32))
    fake.add_provider(Spoken)
    return fake


FAKER_TEMPLATES = [
    "{{name}} lives at {{street_address}} in {{city}}.",
    "Please send the package to {{name}} in {{city}}, {{state}}.",
    "My name is {{name}} and I work as a {{job}}.",
    "{{first_name}} was born on {{spoken_date}}.",
    "The meeting with {{name}} is on {{day_of_week}} at {{clock_time}}.",
    "{{company}} announced a {{catch_phrase}} today.",
    "Our plan for next year is to {{bs}}.",
    "Call {{first_name}} back at {{phone_words}}.",
    "The total comes to {{price_words}}.",
    "The train to {{city}} leaves at {{clock_time}}.",
    "{{first_name}} moved to {{city}}, {{state}} in {{month_name}}.",
    "I met {{name}} at the {{company}} office on {{spoken_date}}.",
    "Turn left on {{street_name}} and drive to {{city}}.",
    "{{sentence}}",
    "{{sentence}} {{sentence}}",
]


def faker_sentences(rng: random.Random, count: int) -> list[str]:
    """Names, places, dates, prices and phone numbers in everyday sentence frames."""
    fake = make_faker(rng)
    return [fake.parse(rng.choice(FAKER_TEMPLATES)) for _ in range(count)]


WORD_TEMPLATES = [
    "please spell the word {0}",
    "the next word is {0}",
    "say {0} again",
    "i heard {0} not {1}",
    "write down {0} {1} and {2}",
    "{0} {1} {2} {3}",
    "the list says {0} then {1}",
]


def word_sentences(rng: random.Random, vocab: set[str], count: int) -> list[str]:
    """Frequent-but-not-trivial words in simple frames, so rare pronunciations get audio too."""
    from wordfreq import top_n_list

    words = [w for w in top_n_list("en", 40000)[300:] if w.isalpha() and w in vocab]
    return [rng.choice(WORD_TEMPLATES).format(*rng.sample(words, 4)) for _ in range(count)]


COMMAND_VERBS = [
    "turn on",
    "turn off",
    "open",
    "close",
    "stop",
    "pause",
    "play",
    "show me",
    "find",
    "check",
]
COMMAND_OBJECTS = [
    "the lights",
    "the door",
    "the music",
    "the radio",
    "the kitchen lights",
    "my calendar",
    "the weather",
    "the news",
    "the garage",
    "the heating",
    "my messages",
    "the next song",
    "the window",
    "the alarm",
    "the television",
    "my email",
    "the map",
    "the fan",
]
PHRASES = [
    "yes please",
    "no thank you",
    "what time is it",
    "good morning",
    "good night",
    "see you later",
    "thank you very much",
    "i don't know",
    "that sounds good",
    "how are you",
    "not right now",
    "go back",
    "next page",
    "cancel that",
    "repeat that please",
    "volume up",
    "volume down",
    "call me later",
    "where are you",
    "i'm on my way",
    "let me think",
    "sounds great",
]


def short_phrases(rng: random.Random, count: int) -> list[str]:
    """Voice-command style phrases: short utterances are common in real speech."""
    fake = make_faker(rng)
    makers = [
        lambda: f"{rng.choice(COMMAND_VERBS)} {rng.choice(COMMAND_OBJECTS)}",
        lambda: f"set a timer for {spoken_number(rng.randint(1, 90))} minutes",
        lambda: f"call {fake.first_name()}",
        lambda: f"navigate to {fake.city()}",
        lambda: f"remind me at {fake.clock_time()}",
    ]
    return PHRASES + [rng.choice(makers)() for _ in range(count)]


def generated_corpus(rng: random.Random, vocab: set[str]) -> dict[str, list[str]]:
    """Synthetic text that fills gaps in the scraped prose: names, numbers, digits, commands."""
    return {
        "faker": faker_sentences(rng, 12000),
        "words": word_sentences(rng, vocab, 8000),
        "digits": [spoken_digits(rng, rng.randint(2, 12)) for _ in range(3000)],
        "phrases": short_phrases(rng, 3000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--heldout", type=Path, default=HELDOUT_FILE, help="fixed held-out sentences, one a line"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)

    vocab = load_vocabulary()
    sources = scraped_corpus(vocab, rng)
    sources.update(generated_corpus(rng, vocab))
    heldout = [line.strip() for line in args.heldout.read_text().splitlines() if line.strip()]
    write_splits(sources, args.out, rng, heldout)


def write_splits(
    sources: dict[str, list[str]], out: Path, rng: random.Random, heldout: list[str]
) -> None:
    """Dedupe across sources, shuffle, and keep the fixed held-out sentences out of train.

    The held-out list is a committed file, not a slice of the shuffled pool: the pool
    depends on package versions (Faker's names, installed docs), and a slice of a different
    pool would hold sentences that an earlier model and its LM were trained on."""
    for name, sentences in sources.items():
        print(f"{name:10s} {len(sentences):7d}")
    heldout = [normalize_text(s) for s in heldout]
    kept_out = set(heldout)
    unique = sorted({normalize_text(s) for group in sources.values() for s in group} - {""})
    train = [s for s in unique if s not in kept_out]
    rng.shuffle(train)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.txt").write_text("\n".join(train) + "\n")
    (out / "heldout.txt").write_text("\n".join(heldout) + "\n")
    vocab = {w for s in train for w in s.split()}
    print(
        f"train {len(train)} sentences, heldout {len(heldout)}, train vocabulary {len(vocab)} words"
    )


if __name__ == "__main__":
    main()
