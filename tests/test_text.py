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
