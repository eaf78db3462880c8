"""``qa eval`` on a small SQuAD-style set written here, with the real model, FAISS and SQLite."""

import json

import pytest
from click.testing import CliRunner

from qa.cli import main
from qa.evaluation import answer_is_right, evaluate, evaluation_archive, read_dataset, score_questions

pytestmark = pytest.mark.slow

PARAGRAPHS = {
    "Leuchtturm": "Der Leuchtturm von Quxlingen wurde 1887 errichtet. Er ist 42 Meter hoch und steht auf einer Düne.",
    "Käserei": "Die Käserei im Dorf Bregnitz stellt jedes Jahr 300 Tonnen Bergkäse her. Gegründet hat sie Anna Holler.",
    "Brücke": "Die Hängebrücke über den Fluss Ammer ist 210 Meter lang. Sie wurde 1965 für den Verkehr geöffnet.",
}
QUESTIONS = [
    (
        "Leuchtturm",
        "How tall is the lighthouse of Quxlingen?",
        "Wie hoch ist der Leuchtturm von Quxlingen?",
        "42 Meter",
    ),
    ("Käserei", "Who founded the cheese dairy in Bregnitz?", "Wer gründete die Käserei in Bregnitz?", "Anna Holler"),
    ("Brücke", "How long is the suspension bridge over the Ammer?", "Wie lang ist die Hängebrücke?", "210 Meter"),
    (
        "Käserei",
        "How much mountain cheese is made in Bregnitz?",
        "Wie viel Bergkäse entsteht in Bregnitz?",
        "300 Tonnen",
    ),
]


def write_dataset(path, wrong_gold: bool = False):
    with path.open("w", encoding="utf-8") as out:
        for number, (subject, english, german, answer) in enumerate(QUESTIONS):
            if wrong_gold and number == 3:
                subject = "Leuchtturm"
            context = PARAGRAPHS[subject]
            row = {
                "title": subject,
                "context_de": context,
                "question_en": english,
                "question_de": german,
                "answers_de": [{"text": answer, "answer_start": max(context.find(answer), 0)}],
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def test_every_mode_and_language_is_scored(tmp_path, embedder):
    dataset = write_dataset(tmp_path / "set.jsonl")
    results = evaluate(dataset, languages=("en", "de"), with_answers=False, embedder=embedder)
    assert [(r.language, r.mode) for r in results] == [
        (language, mode) for language in ("en", "de") for mode in ("dense", "bm25", "hybrid")
    ]
    by_mode = {(r.language, r.mode): r for r in results}
    for language in ("en", "de"):
        for mode in ("dense", "hybrid"):
            result = by_mode[(language, mode)]
            assert result.questions == 4
            assert result.recall_at_1 == result.mrr_at_10 == 1.0, result
    assert by_mode[("de", "bm25")].recall_at_1 == 1.0


def test_answer_accuracy_is_the_share_of_answers_holding_a_gold_text(tmp_path, embedder):
    dataset = write_dataset(tmp_path / "set.jsonl")
    _paragraphs, questions = read_dataset(dataset, "de")
    with evaluation_archive(dataset, embedder=embedder) as archive:
        result = score_questions(archive, questions, "hybrid", "de")
        right = [answer_is_right(archive.ask(q.question).sentence, q.answers) for q in questions]
    assert result.answer_accuracy == sum(right) / len(questions)
    assert result.answer_accuracy >= 0.5


def test_a_question_whose_paragraph_is_not_found_counts_against_recall(tmp_path, embedder):
    dataset = write_dataset(tmp_path / "set.jsonl", wrong_gold=True)
    (result,) = evaluate(dataset, modes=("dense",), with_answers=False, embedder=embedder)
    assert result.recall_at_1 == 0.75
    assert 0.75 < result.mrr_at_10 < 1.0
    assert result.answer_accuracy is None


def test_the_command_prints_a_table_and_writes_json(tmp_path, embedder):
    dataset = write_dataset(tmp_path / "set.jsonl")
    out = tmp_path / "results.json"
    result = CliRunner().invoke(main, ["eval", str(dataset), "--mode", "hybrid", "--lang", "de", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "| hybrid | de | 4 | 1.000 |" in result.output
    written = json.loads(out.read_text())
    (scores,) = written["retrieval"]
    assert scores["mode"] == "hybrid" and scores["recall_at_5"] == 1.0
    assert 0.0 <= scores["short_f1"] <= 1.0 and scores["short_exact"] <= scores["short_f1"]
    (reader,) = written["reader"]  # the reader alone, on the gold paragraphs
    assert reader["language"] == "de" and reader["questions"] == 4 and 0 < reader["f1"] <= 1
    assert "reader alone, gold paragraph" in result.output


def test_short_answers_are_scored_as_squad_scores_them():
    from qa.evaluation import exact_match, token_f1

    assert exact_match("Rustem  Umjerow.", ["rustem umjerow"]) == 1.0
    assert exact_match(None, ["Umjerow"]) == 0.0
    assert token_f1("der Chefunterhändler Rustem Umjerow", ["Rustem Umjerow", "Umjerow"]) == 2 * 0.5 * 1 / 1.5
    assert token_f1("Miami", ["Kiew"]) == 0.0


def test_a_file_of_another_layout_is_named(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: not a question of the SQuAD-style layout"):
        read_dataset(bad)
    result = CliRunner().invoke(main, ["eval", str(bad)])
    assert result.exit_code != 0 and "bad.jsonl:1" in result.output


def test_an_answer_is_right_when_its_sentence_holds_a_gold_text():
    assert answer_is_right("Er ist 42 Meter hoch.", ["42 Meter"])
    assert not answer_is_right("Er ist hoch.", ["42 Meter"])
    assert not answer_is_right(None, ["42 Meter"])
