"""Recipe options (recipes/lib/parse_options.sh): a misspelt option stops a recipe before it
runs hours of work, and repeated options collect rather than overwrite."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import env_with_this_python, write_wordnet

REPO = Path(__file__).resolve().parents[1]
PARSER = REPO / "recipes" / "lib" / "parse_options.sh"

SCRIPT = f"""#!/usr/bin/env bash
# demo.sh: prints its options.
#   demo.sh [--stop-stage 7] [--set KEY=VALUE ...]
set -euo pipefail
stop_stage=7
work=exp/demo
set=()
source "{PARSER}"
echo "stop_stage=$stop_stage work=$work set=${{set[*]:-}} count=${{#set[@]}}"
"""


def run_bash(script: Path, *args: str) -> subprocess.CompletedProcess:
    env = env_with_this_python()
    return subprocess.run(
        ["bash", str(script), *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def demo(tmp_path) -> Path:
    script = tmp_path / "demo.sh"
    script.write_text(SCRIPT)
    return script


def test_options_set_variables_and_repeated_ones_collect(demo):
    result = run_bash(demo, "--stop-stage", "3", "--work=/tmp/w x", "--set", "a=1", "--set", "b=2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "stop_stage=3 work=/tmp/w x set=a=1 b=2 count=2"


def test_defaults_stand_without_options(demo):
    result = run_bash(demo)
    assert result.stdout.strip() == "stop_stage=7 work=exp/demo set= count=0"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--stop-stgae", "3"], "unknown option --stop-stgae"),
        (["--PATH", "/x"], "unknown option --PATH"),
        (["--stop-stage"], "option --stop-stage needs a value"),
        (["stage3"], "unexpected argument 'stage3'"),
    ],
)
def test_bad_options_fail_with_one_line_naming_them(demo, args, message):
    result = run_bash(demo, *args)
    assert result.returncode == 2
    assert result.stdout == ""  # nothing after the parser ran
    assert result.stderr.strip() == next(
        line for line in result.stderr.splitlines() if message in line
    )


def test_help_prints_the_header_comment(demo):
    result = run_bash(demo, "--help")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "demo.sh: prints its options.",
        "  demo.sh [--stop-stage 7] [--set KEY=VALUE ...]",
    ]


@pytest.mark.parametrize(
    "recipe", ["synth", "fsdd", "compare", "librispeech", "kaldi", "speechocean762"]
)
def test_every_recipe_rejects_a_misspelt_option_before_any_work(recipe, tmp_path):
    result = run_bash(REPO / "recipes" / recipe / "run.sh", "--wrok", str(tmp_path))
    assert result.returncode == 2
    assert "unknown option --wrok" in result.stderr
    assert list(tmp_path.iterdir()) == []


def _manifest(path: Path, texts: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"audio": f"/nowhere/{i}.wav", "text": t, "duration": 1.0} for i, t in enumerate(texts)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_synth_mix_repeats_the_real_speech_as_asked(tmp_path):
    work = tmp_path / "work"
    _manifest(work / "synth_train" / "manifest.jsonl", ["a synthetic one", "another"])
    _manifest(work / "synth_dev" / "manifest.jsonl", ["dev"])
    for corpus in ("so762", "fsdd"):
        for split in ("train", "dev", "test"):
            _manifest(work / corpus / f"{split}.jsonl", [f"{corpus} {split}"])

    def mixed(*args: str) -> list[str]:
        result = run_bash(
            REPO / "recipes" / "synth" / "run.sh",
            "--work", str(work), "--stage", "3", "--stop-stage", "3", *args,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return [json.loads(line)["text"] for line in (work / "train.jsonl").open()]

    default = mixed()
    assert default.count("so762 train") == 2 and default.count("fsdd train") == 1
    weighted = mixed("--so762-repeats", "4", "--fsdd-repeats=2")
    assert weighted.count("so762 train") == 4 and weighted.count("fsdd train") == 2
    assert weighted.count("a synthetic one") == 1
    assert "so762 test" not in weighted and "so762 dev" not in weighted
    assert "piper" not in default
    _manifest(work / "synth_piper" / "manifest.jsonl", ["piper"])
    _manifest(work / "synth_kokoro" / "manifest.jsonl", ["kokoro"])
    neural = mixed("--neural", "1")
    assert neural.count("piper") == 1 and neural.count("kokoro") == 1
    assert len(neural) == len(default) + 2


def test_fsdd_recipe_takes_only_speechocean762_training_digit_strings(tmp_path):
    recordings = tmp_path / "fsdd" / "recordings"
    recordings.mkdir(parents=True)
    for speaker in ("jackson", "lucas", "george"):
        sf.write(str(recordings / f"3_{speaker}_0.wav"), np.zeros(4000, np.float32), 8000)
    so762 = tmp_path / "so762"
    so762.mkdir()
    texts = ["ZERO THREE FIVE ONE", "WE CALL IT BEAR", "NINE O'CLOCK"]
    rows = [{"audio": f"train/{spk}_{i}.ogg", "text": t, "duration": 2.0, "speaker": f"{spk:04}"}
            for spk in range(10) for i, t in enumerate(texts)]  # fmt: skip
    (so762 / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    test = {"audio": "test/0.ogg", "text": "TWO TWO", "duration": 1.0, "speaker": "0099"}
    (so762 / "test.jsonl").write_text(json.dumps(test) + "\n")
    work = tmp_path / "work"

    result = run_bash(
        REPO / "recipes" / "fsdd" / "run.sh", "--data", str(tmp_path / "fsdd"),
        "--so762", str(so762), "--work", str(work), "--stop-stage", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    digits = [json.loads(line) for line in (work / "data" / "so762_digits.jsonl").open()]
    dev = {json.loads(line)["speaker"] for line in (work / "so762" / "dev.jsonl").open()}
    assert dev and {d["speaker"] for d in digits} == {f"{spk:04}" for spk in range(10)} - dev
    assert {d["text"] for d in digits} == {"zero three five one"}


def _recording_asr(bin_dir: Path, log: Path) -> dict[str, str]:
    """An environment whose `asr` only records its arguments, one call a line."""
    bin_dir.mkdir()
    fake = bin_dir / "asr"
    fake.write_text(f'#!/usr/bin/env bash\necho "$*" >> "{log}"\n')
    fake.chmod(0o755)
    env = env_with_this_python()
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    return env


def test_fsdd_recipe_trains_each_seed_and_averages_them(tmp_path):
    work = tmp_path / "work"
    (work / "exp" / "seed1").mkdir(parents=True)
    (work / "exp" / "seed1" / "train_state.pt").write_bytes(b"")  # killed mid-run
    log = tmp_path / "calls.txt"
    env = _recording_asr(tmp_path / "bin", log)
    result = subprocess.run(
        ["bash", str(REPO / "recipes" / "fsdd" / "run.sh"), "--work", str(work),
         "--seeds", "3", "--stage", "2", "--stop-stage", "3"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    trains = [c for c in calls if c.startswith("train ")]
    assert len(trains) == 3
    for seed, call in enumerate(trains):
        assert f"--out {work}/exp/seed{seed} " in call and call.endswith(f"train.seed={seed}")
    assert "--resume" in trains[1] and "--init" not in trains[1]
    assert "--init asr/models/default.safetensors" in trains[0] and "--resume" not in trains[0]
    soups = [c for c in calls if c.startswith("average ")]
    bests = " ".join(f"{work}/exp/seed{seed}/best.safetensors" for seed in range(3))
    assert soups == [f"average {bests} --out {work}/exp/model.safetensors"]


@pytest.mark.parametrize("seeds", ["0", "two"])
def test_fsdd_recipe_refuses_a_seed_count_below_one(seeds, tmp_path):
    result = run_bash(REPO / "recipes" / "fsdd" / "run.sh", "--work", str(tmp_path / "w"),
                      "--seeds", seeds)  # fmt: skip
    assert result.returncode == 2 and "--seeds must be" in result.stderr
    assert not (tmp_path / "w").exists()


def test_synth_recipe_tunes_and_calibrates_the_bundled_file_with_its_lm(tmp_path):
    """Stage 7: the file it bundles gets LM weights of its own and a confidence map, both
    fitted on dev.jsonl with the LM just built, and is then what it evaluates."""
    work = tmp_path / "work"
    (work / "text").mkdir(parents=True)
    sentences = ["one sentence", "a dev sentence", "use the m option", "i saw a cat", "x y"]
    (work / "text" / "train.txt").write_text("\n".join(sentences) + "\n")
    (work / "text" / "dev.txt").write_text("a dev sentence\n")
    (work / "text" / "heldout.txt").write_text("a held out sentence\n")
    wordnet = write_wordnet(tmp_path / "wordnet", {
        "noun": '01 n 01 x 0 000 | a gloss; "we got home late"; "a held out sentence"\n',
        "verb": '02 v 01 y 0 000 | a gloss; "a dev sentence"; "see the b flag"\n',
    })  # fmt: skip
    (work / "lm3.arpa").write_text("")  # already built: no KenLM needed
    log = tmp_path / "calls.txt"
    env = _recording_asr(tmp_path / "bin", log)
    result = subprocess.run(
        ["bash", str(REPO / "recipes" / "synth" / "run.sh"), "--work", str(work),
         "--bundle", "streaming", "--stage", "7", "--stop-stage", "7", "--wordnet", str(wordnet)],
        capture_output=True, text=True, env=env, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # WordNet's examples join the training text; dev and held-out sentences stay out of the
    # LM, and so do man pages' option letters; "a" and "i" are words
    lm_text = "one sentence\ni saw a cat\nwe got home late\n"
    assert (work / "text" / "lm.txt").read_text() == lm_text
    calls = log.read_text().splitlines()
    bundled, lm = "asr/models/streaming.safetensors", f"{work}/lm3.arpa"
    fits = [f"{command} {work}/dev.jsonl --model {bundled} --lm {lm} --out {bundled}"
            for command in ("tune-lm", "calibrate")]  # fmt: skip
    assert calls[:2] == fits
    evals = calls[2:]
    assert len(evals) == 3 and all(f"--model {bundled}" in c for c in evals)
    assert evals[-1].endswith(f"--lm {lm}")
