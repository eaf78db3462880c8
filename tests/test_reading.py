"""The reader with the shipped weights: short answers, their offsets, and "no answer"."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qa.reading import (
    ENGINE_TOLERANCE,
    READER_DIR,
    WEIGHTS_FILE,
    Passage,
    Reader,
    default_reader_dir,
    reader_engine,
    reader_settings,
    shared_reader,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

DELEGATION = (
    "Die ukrainische Delegation wird vom Chefunterhändler Rustem Umjerow geleitet. Er reiste am Sonntag "
    "nach Miami, wo die Gespräche mit den Vertretern der USA fortgesetzt werden sollen."
)


@pytest.fixture(scope="module")
def reader():
    found = shared_reader()
    assert found is not None, f"no reader weights in {READER_DIR}"
    return found


def test_the_package_ships_the_trained_layers_and_head_small_and_described():
    weights = READER_DIR / WEIGHTS_FILE
    assert weights.stat().st_size <= 40 * 1024 * 1024
    assert (READER_DIR / "README.md").read_text().count("CC BY") >= 2
    settings = reader_settings()
    assert 0 < settings.trained_layers <= 12


def test_an_english_and_a_german_question_on_the_same_passage(reader):
    english, german = (
        reader.read(question, [Passage(DELEGATION)])[0]
        for question in ("Who leads the Ukrainian delegation?", "Wer leitet die ukrainische Delegation?")
    )
    for reading in (english, german):
        assert reading.answered
        assert "Umjerow" in reading.text
        assert DELEGATION[reading.span.start : reading.span.end] == reading.text
    where = reader.read("Where will the talks continue?", [Passage(DELEGATION)])[0]
    assert where.text == "Miami"


def test_spans_are_offsets_into_the_body_the_passage_stands_in(reader):
    body = "Erster Absatz über etwas anderes.\n\n" + DELEGATION
    offset = body.index(DELEGATION)
    (reading,) = reader.read("Who leads the Ukrainian delegation?", [Passage(DELEGATION, offset)])
    assert body[reading.span.start : reading.span.end] == reading.text
    assert reading.span.start >= offset


def test_a_passage_that_does_not_answer_gives_no_span(reader):
    weather = (
        "Am Wochenende bleibt es in Norddeutschland trüb und regnerisch. Die Temperaturen liegen bei "
        "sieben Grad, im Bergland kann es nachts Frost geben."
    )
    (reading,) = reader.read("Who won the 2014 World Cup final?", [Passage(weather)])
    assert not reading.answered
    assert reading.confidence < 0.5


def test_a_passage_longer_than_the_window_is_read_to_its_end(reader):
    filler = " ".join(
        f"Im Abschnitt {n} des Berichts geht es um die Haushaltslage der Gemeinde und ihre Schulen." for n in range(40)
    )
    passage = filler + " Die Bürgermeisterin der Stadt heißt Hannelore Kraftmann."
    windows = reader.windows("Wie heißt die Bürgermeisterin der Stadt?", [Passage(passage)])
    assert len(windows) >= 4  # read in overlapping windows, the answer in the last
    (reading,) = reader.read("Wie heißt die Bürgermeisterin der Stadt?", [Passage(passage)])
    assert reading.answered
    assert "Kraftmann" in reading.text
    assert passage[reading.span.start : reading.span.end] == reading.text


def test_the_best_span_across_passages_is_taken(reader):
    other = "Der Zoo in Leipzig hat zwei neue Elefanten bekommen, teilte die Stadt mit."
    readings = reader.read("Who leads the Ukrainian delegation?", [Passage(other), Passage(DELEGATION)])
    assert [r.passage for r in readings] == [0, 1]
    assert readings[1].score > readings[0].score
    assert not readings[0].answered


def test_openvino_reads_the_spans_onnx_runtime_reads(reader):
    questions = ("Who leads the Ukrainian delegation?", "Wo werden die Gespräche fortgesetzt?", "Wer reiste?")
    passages = [Passage(DELEGATION), Passage("Der Zoo in Leipzig hat zwei neue Elefanten bekommen.")]
    onnx, openvino = Reader(engine="onnx"), Reader(engine="openvino")
    for question in questions:
        ours, theirs = openvino.read(question, passages), onnx.read(question, passages)
        assert [r.answered for r in ours] == [r.answered for r in theirs]
        for mine, reference in zip(ours, theirs, strict=True):
            if reference.answered:  # an unanswered passage's best span may be a near tie
                assert mine.span == reference.span
                assert abs(mine.score - reference.score) <= 2 * ENGINE_TOLERANCE
    assert onnx.read(questions[0], passages)[0].answered


def test_the_reader_runs_on_the_embedders_engine_where_it_agrees(reader, monkeypatch):
    folder = default_reader_dir()
    monkeypatch.setenv("QA_EMBED_BACKEND", "onnx")
    assert reader_engine(folder) == "onnx"
    monkeypatch.setenv("QA_EMBED_BACKEND", "openvino")
    records = list(folder.glob("engine-*.json"))
    for record in records:
        record.unlink()
    assert reader_engine(folder) == "openvino"
    (record,) = folder.glob("engine-*.json")
    measured = json.loads(record.read_text())
    assert measured["engine"] == "openvino" and measured["max_logit_difference"] <= ENGINE_TOLERANCE
    record.write_text(json.dumps({"engine": "onnx", "max_logit_difference": 1.0}))
    assert reader_engine(folder) == "onnx"  # measured once, then read
    record.unlink()


def test_training_runs_and_its_loss_goes_down(tmp_path):
    """A few steps of bench/train_reader.py on a tiny made-up set, with German negatives (a
    question paired with another paragraph of its article, which does not answer it): the loss
    must fall, and a run continuing from its checkpoint (in bfloat16) starts from what it learnt."""
    data = tmp_path / "data"
    data.mkdir()
    names = ["Anna Berg", "Jonas Keller", "Mira Stein", "Paul Wendt", "Lena Vogt", "Timo Brandt"]
    towns = ["Kassel", "Passau", "Jena", "Lübeck", "Trier", "Görlitz"]
    paragraphs = []
    for n, (name, town) in enumerate(zip(names * 4, towns * 4, strict=True)):
        context = f"Die Stadt {town} hat gewählt. Neue Bürgermeisterin ist {name}, teilte die Verwaltung am Montag mit."
        paragraphs.append(
            {
                "context": context,
                "qas": [
                    {
                        "id": f"q{n}",
                        "question": f"Wer ist die neue Bürgermeisterin von {town}?",
                        "answers": [{"text": name, "answer_start": context.index(name)}],
                    }
                ],
            }
        )
    (data / "tiny_de.json").write_text(json.dumps({"data": [{"title": "t", "paragraphs": paragraphs}]}))
    work = tmp_path / "work"
    command = [
        sys.executable,
        str(ROOT / "bench" / "train_reader.py"),
        "--data",
        str(data),
        "--work",
        str(work),
        "--output",
        str(tmp_path / "out"),
        "--batch-size",
        "4",
        "--epochs",
        "4",
        "--lr",
        "3e-4",
        "--shard-size",
        "2",
        "--german-repeats",
        "1",
        "--other-paragraph-negatives",
        "4",
        "--sample",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((work / "summary.json").read_text())
    assert "negatives: 4 from tiny_de.json:other (de)" in result.stdout
    assert summary["other_paragraph_negatives"] == 4
    assert (summary["windows"], summary["windows_with_answer"]) == (28, 24)
    assert summary["steps"] == 28
    assert summary["last_loss"] < summary["first_loss"] - 0.5
    assert (Path(tmp_path / "out") / WEIGHTS_FILE).exists()

    continued = [*command, "--start-from", str(work / "checkpoint.pt"), "--precision", "bf16"]
    continued[continued.index(str(work))] = str(tmp_path / "work2")
    continued[continued.index("--epochs") + 1] = "1"
    result = subprocess.run(continued, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    second = json.loads((tmp_path / "work2" / "summary.json").read_text())
    assert second["first_loss"] < summary["first_loss"] - 0.5
    assert second["continues"]["steps"] == 28
    assert (second["precision"], summary["precision"]) == ("bf16", "fp32")


def test_the_windows_are_those_the_reader_was_trained_on(reader):
    """Inference windows the passages with the ``tokenizers`` library (no transformers on the
    query path); they must be exactly what transformers' tokenizer gave the training script."""
    from qa.reading import ensure_reader, load_base_tokenizer

    question = "Wie heißt die Bürgermeisterin?"
    passages = [
        Passage(" ".join(f"Im Abschnitt {n} geht es um die Haushaltslage der Gemeinde." for n in range(60))),
        Passage(DELEGATION),
    ]
    ours = reader.windows(question, passages)
    settings = reader.settings
    reference = load_base_tokenizer(ensure_reader())(
        [settings.question_prefix + question] * len(passages),
        [p.text for p in passages],
        truncation="only_second",
        max_length=settings.max_length,
        stride=settings.stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    assert len(ours) == len(reference["input_ids"]) > len(passages)
    for row, (number, window) in enumerate(ours):
        assert number == reference["overflow_to_sample_mapping"][row]
        assert window.ids == reference["input_ids"][row]
        assert [tuple(o) for o in window.offsets] == [tuple(o) for o in reference["offset_mapping"][row]]
        assert window.sequence_ids == reference.sequence_ids(row)


def test_building_the_reader_says_nothing_that_is_not_the_users_business(tmp_path, capfd):
    """First start printed transformers' "You should probably TRAIN this model", "`torch_dtype` is
    deprecated" and optimum's export notes; the build is checked, so they only alarm."""
    from qa.reading import BUILD_FILE, ensure_reader

    folder = ensure_reader(tmp_path / "reader")
    assert (folder / BUILD_FILE).exists()
    printed = "".join(capfd.readouterr())
    for phrase in ("TRAIN this model", "torch_dtype", "heavily recommended", "TracerWarning", "deprecated"):
        assert phrase not in printed, printed[-2000:]


def test_a_code_switched_passage_keeps_its_answer_where_it_stands(tmp_path):
    """bench/train_reader.py's cross-lingual augmentation gives German words to an English
    passage; the answer's offsets must follow the words replaced before and inside it."""
    sys.path.insert(0, str(ROOT / "bench"))
    import numpy as np
    from train_reader import Example, code_switched

    from tests.test_translation import write_dictd

    dictionary = write_dictd(
        tmp_path / "eng-deu",
        [
            ("delegation", "delegation\nDelegation <fem>\n"),
            ("leads", "leads\nleitet <v>\n"),
            ("chief", "chief\nHaupt <neut>\n"),
            ("negotiator", "negotiator\nUnterhändler <masc>\n"),
        ],
    )
    context = "The Ukrainian delegation leads the talks; its chief negotiator Rustem Umjerow flew to Miami."
    answer = "chief negotiator Rustem Umjerow"
    example = Example("Who leads?", context, context.index(answer), answer, "en", "test")
    switched = code_switched(example, dictionary, 1.0, np.random.default_rng(0))
    assert (
        switched.context
        == "The Ukrainian Delegation leitet the talks; its Haupt Unterhändler Rustem Umjerow flew to Miami."
    )
    assert switched.answer_text == "Haupt Unterhändler Rustem Umjerow"
    assert switched.context[switched.answer_start :].startswith(switched.answer_text)
    unanswerable = Example("Who leads?", context, None, None, "en", "test")
    assert code_switched(unanswerable, dictionary, 1.0, np.random.default_rng(0)).answer_start is None
    assert code_switched(example, dictionary, 0.0, np.random.default_rng(0)) == example


def test_a_span_starts_and_ends_on_a_word_not_on_a_typeset_space(reader):
    """Typesetting puts a four-per-em or narrow space before a figure; no span holds one at its ends."""
    prize = (
        "Der Preis der Defa-Stiftung für sein Lebenswerk ist mit\u200510\u202f000 Euro dotiert, sagte die Sprecherin."
    )
    (reading,) = reader.read("Wie hoch ist der Preis der Defa-Stiftung dotiert?", [Passage(prize)])
    assert reading.answered
    assert "000" in reading.text
    assert reading.text == reading.text.strip()
    assert prize[reading.span.start : reading.span.end] == reading.text
