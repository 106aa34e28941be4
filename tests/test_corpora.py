"""Corpus preparation on tiny fixtures of each format: manifests, splits, speakers, errors."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from asr.corpora import commonvoice, folder, fsdd, kaldi, librispeech
from asr.errors import AsrError
from asr.manifest import read_manifest
from cli import app


def cli_prepare(*args):
    """`asr prepare ARGS` in this process: (exit code, stdout and stderr)."""
    result = CliRunner().invoke(app, ["prepare", *map(str, args)])
    return result.exit_code, result.output


def wave(seconds: float, rate: int = 16000, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("src", ["LibriSpeech", "."])  # "." holds LibriSpeech/SUBSET/...
def test_librispeech_subsets_ids_and_normalized_text(tmp_path, src):
    for subset, spk, utts in [("train-clean-5", "19", 2), ("dev-clean-2", "84", 1)]:
        chapter = tmp_path / "LibriSpeech" / subset / spk / "198"
        chapter.mkdir(parents=True)
        lines = []
        for i in range(utts):
            sf.write(str(chapter / f"{spk}-198-{i:04d}.flac"), wave(0.5 + i), 16000)
            lines.append(f"{spk}-198-{i:04d} HELLO WORLD NUMBER {i} IT'S FINE")
        (chapter / f"{spk}-198.trans.txt").write_text("\n".join(lines) + "\n")
    paths = librispeech.prepare(tmp_path / src, tmp_path / "out")
    assert [p.name for p in paths] == ["dev-clean-2.jsonl", "train-clean-5.jsonl"]
    train = read_manifest(paths[1])
    assert [u.text for u in train] == [
        "hello world number zero it's fine",
        "hello world number one it's fine",
    ]
    assert train[1].duration == pytest.approx(1.5)
    assert train[0].extra == {"id": "19-198-0000", "speaker": "19"}
    assert train[0].audio.is_absolute() and train[0].audio.exists()


def test_librispeech_missing_audio_names_transcript_line(tmp_path):
    chapter = tmp_path / "s" / "1" / "2"
    chapter.mkdir(parents=True)
    (chapter / "1-2.trans.txt").write_text("1-2-0000 HI\n")
    with pytest.raises(AsrError, match=r"1-2.trans.txt:1: no audio file 1-2-0000.flac"):
        librispeech.prepare(tmp_path / "s", tmp_path / "out")


def make_common_voice(root, with_durations: bool):
    (root / "clips").mkdir(parents=True)
    rows = {"train": [("aa", "a1.mp3", "Hello there, 2 cats!")], "test": [("bb", "b1.mp3", "Bye.")]}
    for split, entries in rows.items():
        lines = ["client_id\tpath\tsentence\tup_votes"]
        for client, clip, sentence in entries:
            sf.write(str(root / "clips" / clip), wave(1.0, 48000), 48000)
            lines.append(f"{client}\t{clip}\t{sentence}\t2")
        (root / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    if with_durations:
        (root / "clip_durations.tsv").write_text("clip\tduration[ms]\na1.mp3\t1000\nb1.mp3\t1000\n")


@pytest.mark.parametrize("with_durations", [True, False])
def test_common_voice_splits_and_speakers(tmp_path, with_durations):
    make_common_voice(tmp_path / "cv", with_durations)
    paths = commonvoice.prepare(tmp_path / "cv", tmp_path / "out")
    assert [p.name for p in paths] == ["train.jsonl", "test.jsonl"]
    (train,) = read_manifest(paths[0])
    assert train.text == "hello there two cats"
    assert train.extra["speaker"] == "aa"
    assert train.duration == pytest.approx(1.0, abs=0.06)  # MP3 headers are approximate


def test_common_voice_missing_clip_names_tsv_line(tmp_path):
    make_common_voice(tmp_path / "cv", True)
    (tmp_path / "cv" / "clips" / "b1.mp3").unlink()
    with pytest.raises(AsrError, match=r"test.tsv:2: no audio file clips/b1.mp3"):
        commonvoice.prepare(tmp_path / "cv", tmp_path / "out")


@pytest.mark.parametrize(
    "table, where, reason",
    [
        ("clip\tduration\na1.mp3\t1000\n", "", "needs 'clip' and 'duration[ms]' columns"),
        ("clip\tduration[ms]\na1.mp3\t1000\nb1.mp3\tlong\n", ":3", "'long' is not a number"),
        ("clip\tduration[ms]\na1.mp3\n", ":2", "duration[ms] None is not a number"),
    ],
)
def test_common_voice_bad_durations_table_is_named(tmp_path, table, where, reason):
    make_common_voice(tmp_path / "cv", False)
    (tmp_path / "cv" / "clip_durations.tsv").write_text(table)
    code, output = cli_prepare("commonvoice", tmp_path / "cv", tmp_path / "out")
    assert code == 1
    assert output.startswith(f"asr: error: {tmp_path / 'cv' / 'clip_durations.tsv'}{where}: ")
    assert reason in output and len(output.splitlines()) == 1


def test_common_voice_split_that_is_not_utf8_is_named(tmp_path):
    make_common_voice(tmp_path / "cv", True)
    tsv = tmp_path / "cv" / "test.tsv"
    tsv.write_bytes(tsv.read_bytes().replace(b"Bye.", b"Caf\xe9."))
    code, output = cli_prepare("commonvoice", tmp_path / "cv", tmp_path / "out")
    assert code == 1
    assert output == f"asr: error: {tsv}:2: not UTF-8 text (byte 0xe9 at offset 46)\n"


def test_common_voice_split_with_a_bom_keeps_its_first_column(tmp_path):
    """A BOM read as text would rename 'client_id', and every speaker would be ''."""
    make_common_voice(tmp_path / "cv", True)
    tsv = tmp_path / "cv" / "train.tsv"
    tsv.write_bytes(b"\xef\xbb\xbf" + tsv.read_bytes())
    (train,) = read_manifest(commonvoice.prepare(tmp_path / "cv", tmp_path / "out")[0])
    assert train.extra["speaker"] == "aa"


def kaldi_dir(path, **tables):
    """A Kaldi data dir at `path` holding `tables` (name -> text; wav_scp is wav.scp)."""
    path.mkdir(parents=True)
    for name, text in tables.items():
        (path / name.replace("_", ".")).write_text(text)
    return path


@pytest.mark.parametrize("sep", [" ", "\t"])
def test_kaldi_plain_wav_scp(tmp_path, sep):
    sf.write(str(tmp_path / "r1.wav"), wave(1.2), 16000)
    data = kaldi_dir(tmp_path / "data" / "test", wav_scp=f"r1{sep}{tmp_path / 'r1.wav'}\n",
                     text=f"r1{sep}TURN ON the light\n", utt2spk=f"r1{sep}spk7\n")  # fmt: skip
    (path,) = kaldi.prepare(data, tmp_path / "out")
    (utt,) = read_manifest(path)
    assert (utt.text, utt.extra["speaker"], utt.audio) == (
        "turn on the light",
        "spk7",
        tmp_path / "r1.wav",
    )
    assert utt.duration == pytest.approx(1.2)


def test_kaldi_segments_and_piped_recordings_are_cut(tmp_path):
    audio = np.concatenate([wave(1.0, freq=300), wave(2.0, freq=900)])
    sf.write(str(tmp_path / "long.flac"), audio, 16000)
    data = kaldi_dir(tmp_path / "dev", wav_scp=f"rec1 sox {tmp_path / 'long.flac'} -t wav - |\n",
                     segments="rec1-a rec1 0.0 1.0\nrec1-b rec1 1.0 3.0\n",
                     text="rec1-a first part\nrec1-b second part\n")  # fmt: skip
    (path,) = kaldi.prepare(data, tmp_path / "out")
    a, b = read_manifest(path)
    assert (a.text, b.text) == ("first part", "second part")
    assert (a.duration, b.duration) == (pytest.approx(1.0), pytest.approx(2.0))
    cut, rate = sf.read(str(b.audio), dtype="float32")
    assert rate == 16000 and np.allclose(cut, audio[16000:], atol=1e-4)


def test_kaldi_finds_each_recording_once_not_once_per_segment(tmp_path, monkeypatch):
    data = kaldi_dir(tmp_path / "dev", wav_scp="rec1 long.wav\n",
                     segments="a rec1 0.0 1.0\nb rec1 1.0 2.0\nc rec1 2.0 3.0\n",
                     text="a one\nb two\nc three\n")  # fmt: skip
    sf.write(str(data / "long.wav"), wave(3.0), 16000)
    found, audio_source = [], kaldi._audio_source
    monkeypatch.setattr(kaldi, "_audio_source", lambda *a: found.append(a) or audio_source(*a))
    (path,) = kaldi.prepare(data, tmp_path / "out")
    assert [u.text for u in read_manifest(path)] == ["one", "two", "three"]
    assert [entry for entry, *_ in found] == ["long.wav"]


@pytest.mark.parametrize(
    "segments, reason",
    [
        ("u r 0.0\n", "segments:1: malformed line"),
        ("u r 0.0 1.0\nv r 1,5 2.0\n", "segments:2: segment time '1,5' is not a number of seconds"),
        ("u r 0.0 inf\n", "segments:1: segment time 'inf' is not a number of seconds"),
    ],
)
def test_kaldi_malformed_segments_line(tmp_path, segments, reason):
    data = kaldi_dir(tmp_path / "d", wav_scp="r x.wav\n", text="u hi\n", segments=segments)
    code, output = cli_prepare("kaldi", data, tmp_path / "out")
    assert (code, output) == (1, f"asr: error: {data / reason}\n")


@pytest.mark.parametrize("with_segments", [False, True])
def test_kaldi_relative_wav_scp_paths_are_found_beside_the_data_dir(
    tmp_path, monkeypatch, with_segments
):
    """Kaldi's recipe folder first, then the data dir, with or without a segments file."""
    segments = {"segments": "u1 r1 0.5 1.5\n"} if with_segments else {}
    data = kaldi_dir(tmp_path / "data" / "train", wav_scp="r1 r1.wav\n",
                     text="u1 hello\n" if with_segments else "r1 hello\n", **segments)  # fmt: skip
    sf.write(str(data / "r1.wav"), wave(2.0), 16000)
    monkeypatch.chdir(tmp_path)  # not the data dir: r1.wav is not here
    (path,) = kaldi.prepare("data/train", "out")
    (utt,) = read_manifest(path)
    assert utt.duration == pytest.approx(1.0 if with_segments else 2.0)


def test_kaldi_dot_names_the_manifest_after_the_folder(tmp_path, monkeypatch):
    data = kaldi_dir(tmp_path / "dev", wav_scp="r1 r1.wav\n", text="r1 hello\n")
    sf.write(str(data / "r1.wav"), wave(0.5), 16000)
    monkeypatch.chdir(data)
    assert [p.name for p in kaldi.prepare(".", tmp_path / "out")] == ["dev.jsonl"]


@pytest.mark.parametrize("name", ["text", "wav.scp"])
def test_kaldi_table_that_is_not_utf8_is_named(tmp_path, name):
    data = kaldi_dir(tmp_path / "d", wav_scp="r x.wav\n", text="r hi\n")
    (data / name).write_bytes(b"r x.wav\nq caf\xe9\n")
    code, output = cli_prepare("kaldi", data, tmp_path / "out")
    assert code == 1
    assert output == f"asr: error: {data / name}:2: not UTF-8 text (byte 0xe9 at offset 13)\n"


def test_fsdd_splits_by_speaker_never_by_file(tmp_path):
    rec = tmp_path / "recordings"
    rec.mkdir()
    for speaker in ("jackson", "lucas", "george"):
        for take in range(2):
            sf.write(str(rec / f"7_{speaker}_{take}.wav"), wave(0.4, 8000), 8000)
    train, dev, test = (read_manifest(p) for p in fsdd.prepare(tmp_path, tmp_path / "out"))
    assert {u.extra["speaker"] for u in train} == {"jackson"}
    assert {u.extra["speaker"] for u in dev} == {"lucas"}
    assert {u.extra["speaker"] for u in test} == {"george"} and test[0].text == "seven"


def test_fsdd_missing_split_speaker_is_named_before_any_manifest_is_written(tmp_path):
    rec = tmp_path / "recordings"
    rec.mkdir()
    for speaker in ("jackson", "george"):
        sf.write(str(rec / f"7_{speaker}_0.wav"), wave(0.4, 8000), 8000)
    code, output = cli_prepare("fsdd", tmp_path, tmp_path / "out")
    assert code == 1
    assert output == f"asr: error: {tmp_path}: no recordings of the dev split's speakers (lucas)\n"
    assert not (tmp_path / "out").exists()


def test_fsdd_unreadable_recording_is_named_not_a_traceback(tmp_path):
    rec = tmp_path / "recordings"
    rec.mkdir()
    sf.write(str(rec / "7_jackson_0.wav"), wave(0.4, 8000), 8000)
    sf.write(str(rec / "7_george_0.wav"), wave(0.4, 8000), 8000)
    (rec / "3_lucas_0.wav").write_bytes(b"RIFF not really")
    with pytest.raises(AsrError, match=r"3_lucas_0\.wav: cannot read audio header"):
        fsdd.prepare(tmp_path, tmp_path / "out")


def test_cli_prepare_prints_counts_and_rejects_unknown_corpus(tmp_path):
    make_common_voice(tmp_path / "cv", True)
    run = [sys.executable, "-m", "cli", "prepare"]
    ok = subprocess.run([*run, "commonvoice", str(tmp_path / "cv"), str(tmp_path / "o")],
                        capture_output=True, text=True, check=False)  # fmt: skip
    assert ok.returncode == 0 and "train.jsonl: 1 utterances" in ok.stdout
    bad = subprocess.run([*run, "timit", str(tmp_path), str(tmp_path / "o")],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert bad.returncode == 1 and bad.stderr.startswith("asr: error: timit: unknown corpus")


def test_folder_pairs_audio_with_transcripts_and_holds_out_whole_speakers(tmp_path):
    src = tmp_path / "mine"
    for s in range(6):
        (src / f"spk{s}").mkdir(parents=True)
        for take in range(3):
            sf.write(str(src / f"spk{s}" / f"u{take}.flac"), wave(0.5, 22050), 22050)
            (src / f"spk{s}" / f"u{take}.txt").write_text(f"Take {take}, Room 12!\n")
    sf.write(str(src / "spk0" / "untranscribed.wav"), wave(0.5), 16000)
    train, dev = (read_manifest(p) for p in folder.prepare(src, tmp_path / "out"))
    assert len(train) + len(dev) == 18  # the file without a transcript is left out
    train_speakers = {u.extra["speaker"] for u in train}
    dev_speakers = {u.extra["speaker"] for u in dev}
    assert dev_speakers and not dev_speakers & train_speakers
    assert len(dev_speakers) == 1  # no speaker fits in a tenth: the smallest one
    assert train[0].text == "take zero room twelve" and train[0].duration == pytest.approx(0.5)


def test_folder_one_speaker_splits_files_stably_and_never_leaves_a_side_empty(tmp_path):
    for n in range(40):
        sf.write(str(tmp_path / f"clip{n}.wav"), wave(0.2), 16000)
        (tmp_path / f"clip{n}.lab").write_text("hello there")
    train, dev = folder.prepare(tmp_path, tmp_path / "out")
    first = {u.extra["id"] for u in read_manifest(dev)}
    assert 1 <= len(first) < 40 and len(read_manifest(train)) == 40 - len(first)
    for n in range(40, 60):  # more recordings: the old ones keep their side
        sf.write(str(tmp_path / f"clip{n}.wav"), wave(0.2), 16000)
        (tmp_path / f"clip{n}.lab").write_text("hello there")
    again = {u.extra["id"] for u in read_manifest(folder.prepare(tmp_path, tmp_path / "o2")[1])}
    assert first <= again
    two = tmp_path / "two"
    two.mkdir()
    for n in range(2):
        sf.write(str(two / f"a{n}.wav"), wave(0.2), 16000)
        (two / f"a{n}.txt").write_text("hi")
    assert [len(read_manifest(p)) for p in folder.prepare(two, tmp_path / "o3")] == [1, 1]


def test_folder_two_similar_speakers_split_by_file_not_by_half(tmp_path):
    for speaker in ("ann", "bob"):
        (tmp_path / speaker).mkdir()
        for n in range(30):
            sf.write(str(tmp_path / speaker / f"{n}.wav"), wave(0.1), 16000)
            (tmp_path / speaker / f"{n}.txt").write_text("hi")
    train, dev = (read_manifest(p) for p in folder.prepare(tmp_path, tmp_path / "out"))
    assert 1 <= len(dev) <= 15 and len(train) + len(dev) == 60
    assert {u.extra["id"] for u in dev} <= {f"{s}/{n}" for s in ("ann", "bob") for n in range(30)}


def test_folder_reads_ljspeech_metadata_preferring_the_normalized_column(tmp_path):
    (tmp_path / "wavs").mkdir()
    for utt in ("LJ001-0001", "LJ001-0002", "LJ001-0003"):
        sf.write(str(tmp_path / "wavs" / f"{utt}.wav"), wave(0.3, 22050), 22050)
    (tmp_path / "metadata.csv").write_text(
        "LJ001-0001|Printing, in 1450.|Printing, in fourteen fifty.\n"
        "LJ001-0002|In being comparatively modern.\n"
        "LJ001-0003|Dr. Who|Doctor Who\n"
    )
    texts = {u.extra["id"]: u.text for p in folder.prepare(tmp_path, tmp_path / "out")
             for u in read_manifest(p)}  # fmt: skip
    assert texts == {"LJ001-0001": "printing in fourteen fifty",
                     "LJ001-0002": "in being comparatively modern", "LJ001-0003": "doctor who"}  # fmt: skip


@pytest.mark.parametrize(
    "metadata, reason",
    [
        ("LJ1|fine\nLJ2\n", "metadata.csv:2: expected ID|text"),
        ("LJ1|fine\nLJ9|gone\n", "metadata.csv:2: no audio file wavs/LJ9.wav"),
    ],
)
def test_folder_bad_metadata_line_is_named(tmp_path, metadata, reason):
    (tmp_path / "wavs").mkdir()
    sf.write(str(tmp_path / "wavs" / "LJ1.wav"), wave(0.3), 16000)
    (tmp_path / "metadata.csv").write_text(metadata)
    with pytest.raises(AsrError, match=reason):
        folder.prepare(tmp_path, tmp_path / "out")


def test_folder_metadata_that_is_not_utf8_is_named(tmp_path):
    (tmp_path / "metadata.csv").write_bytes(b"LJ1|fine\nLJ2|na\xefve\n")
    code, output = cli_prepare("folder", tmp_path, tmp_path / "out")
    assert code == 1
    assert output == (
        f"asr: error: {tmp_path / 'metadata.csv'}:2: not UTF-8 text (byte 0xef at offset 15)\n"
    )


def test_folder_without_pairs_says_what_it_looked_for(tmp_path):
    sf.write(str(tmp_path / "a.wav"), wave(0.3), 16000)
    with pytest.raises(AsrError, match=r"no audio files with a transcript beside them"):
        folder.prepare(tmp_path, tmp_path / "out")
