import pytest

from asr.text import CharTokenizer, normalize_text, tokenizer_from_dict


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Hello, World!", "hello world"),
        ("I have 42 apples.", "i have forty two apples"),
        ("It's the 3rd time", "it's the third time"),
        ("'Quoted' words -- and dashes", "quoted words and dashes"),
        ("Café   au lait", "cafe au lait"),
        ("1,000 people", "one thousand people"),
        ("", ""),
    ],
)
def test_normalize(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("don\u2019t stop", "don't stop"),
        ("rock\u2019n\u2019roll", "rock'n'roll"),
        ("\u2018quoted\u2019", "quoted"),
        ("Hawai\u02bbi o\u02bcahu", "hawaii o'ahu"),
        ("stra\u00dfe", "strasse"),
        ("\u0152uvre \u00e6on \u00d8re", "oeuvre aeon ore"),
        ("\u00bd", "one half"),
        ("\u00be of it", "three quarters of it"),
        ("1\u00bd cups", "one and a half cups"),
        ("3\u20444", "three four"),
        ("1990\u20132000", "one thousand nine hundred and ninety two thousand"),
        ("yes\u2014no", "yes no"),
    ],
)
def test_normalize_converts_what_ascii_would_drop(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("version 2.0.1", "version two point zero point one"),
        (
            "192.168.0.1",
            "one hundred and ninety two point one hundred and sixty eight point zero point one",
        ),
        ("1.000.000", "one point zero zero zero point zero zero zero"),
        ("pick 1,2,3", "pick one two three"),
        ("pages 12,13", "pages twelve thirteen"),
        ("1,000,000 stars", "one million stars"),
        ("1,234.50", "one thousand two hundred and thirty four point five zero"),
        ("2.5", "two point five"),
        ("10.30", "ten point three zero"),
        ("1,000th", "one thousandth"),
        ("the 21ST century", "the twenty first century"),
        ("1.5th", "one point five"),
        ("agent 007", "agent zero zero seven"),
        pytest.param("1" + "0" * 400, " ".join(["one"] + ["zero"] * 400), id="400 digits"),
        pytest.param("1" + "0" * 400 + "th", " ".join(["one"] + ["zero"] * 400), id="huge ordinal"),
        pytest.param("7" * 5000, " ".join(["seven"] * 5000), id="past int()'s digit limit"),
        pytest.param("7" * 5000 + "th", " ".join(["seven"] * 5000), id="past the limit, ordinal"),
        ("the 05th", "the zero five"),
        ("the 05", "the zero five"),
        ("the 0th", "the zeroth"),
    ],
)
def test_normalize_spells_every_number(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("HELLO [noise] WORLD <unk>", "hello world"),
        ("[laughter] yes <sil> [background noise] no <SPOKEN_NOISE>", "yes no"),
        ("x < 5 and y > 3", "x five and y three"),
        ("<unk>", ""),
    ],
)
def test_normalize_drops_noise_markers(raw, expected):
    assert normalize_text(raw) == expected


def test_tokenizer_round_trip():
    tok = CharTokenizer()
    text = "don't stop believing"
    ids = tok.encode(text)
    assert tok.blank_id not in ids
    assert tok.decode(ids) == text


def test_tokenizer_normalizes_and_serializes():
    tok = CharTokenizer()
    assert tok.decode(tok.encode("Room 7!")) == "room seven"
    again = tokenizer_from_dict(tok.to_dict())
    assert again.symbols == tok.symbols and len(again) == len(tok) == 29


def test_blank_must_come_first():
    with pytest.raises(ValueError):
        CharTokenizer(["a", "<blank>"])
