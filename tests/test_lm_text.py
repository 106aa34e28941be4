"""recipes/lm/wordnet_examples.py: the LM's everyday text comes from WordNet's glosses."""

import subprocess
import sys
from pathlib import Path

from conftest import env_with_this_python, write_wordnet

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "recipes" / "lm" / "wordnet_examples.py"

LICENCE = "  1 This software and database is being provided to you, the LICENSEE, by  \n"
NOUN = (
    '00001740 03 n 01 milk 0 000 | a white liquid; "she bought some Milk"; "milk it"  \n'
    '00001930 03 n 01 home 0 000 | where you live; "Please call me back when you get home!"\n'
)
VERB = '00001111 29 v 01 go 0 000 | move; "she bought some milk"; "go to 3 shops"  \n'


def run_script(wordnet: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--dir", str(wordnet)],
        capture_output=True, text=True, env=env_with_this_python(), timeout=60, check=False,
    )  # fmt: skip


def test_examples_are_normalized_deduplicated_and_short_ones_dropped(tmp_path):
    parts = {"noun": LICENCE + NOUN, "verb": LICENCE + VERB, "adj": LICENCE, "adv": LICENCE}
    result = run_script(write_wordnet(tmp_path / "wordnet", parts))
    assert result.returncode == 0, result.stderr
    # glosses themselves and two-word examples are left out; digits are spelt out
    assert result.stdout.splitlines() == [
        "she bought some milk",
        "please call me back when you get home",
        "go to three shops",
    ]


def test_a_missing_wordnet_is_one_line_naming_the_file(tmp_path):
    result = run_script(tmp_path)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.strip() == (
        f"wordnet_examples: error: {tmp_path / 'data.noun'}: no such file "
        "(apt-get install wordnet-base)"
    )
