"""Ranking among many reports on one subject: the article that names what the question names."""

import pytest

from qa import Archive
from qa.question import KeyTerm
from qa.records import Hit, Span
from qa.retrieval import FusionWeights, by_coverage
from tests.conftest import write_article

ARTICLES = {
    "ellwangen": "Der Gemeinderat in Ellwangen hat beraten.\n\nWer mit Fernwärme heizt, zahlt zwölf Prozent mehr.",
    "anderswo": "Der Preis für Fernwärme steigt um acht Prozent, teilten die Stadtwerke mit.",
}
TERMS = (
    KeyTerm("Fernwärme", ("fernwarm",), 40, 2.0, False, present=("fernwarm",)),
    KeyTerm("Ellwangen", ("ellwang",), 3, 7.0, True, present=("ellwang",)),
)


def _hit(chunk_id: int, article: str, text: str) -> Hit:
    return Hit(chunk_id, article, "Fernwärme wird teurer", None, (), text, Span(0, len(text)), 1.0, 0.8)


def test_a_passage_whose_article_names_what_the_question_names_ranks_over_an_equal_one_whose_does_not():
    closer = _hit(1, "anderswo", ARTICLES["anderswo"])
    named = _hit(2, "ellwangen", "Wer mit Fernwärme heizt, zahlt zwölf Prozent mehr.")
    beyond = _hit(3, "anderswo", ARTICLES["anderswo"])

    ranked = by_coverage([closer, named, beyond], TERMS, lambda hit: ARTICLES[hit.article_id], 0.1, depth=2)

    assert [hit.chunk_id for hit in ranked] == [2, 1, 3], "reordered within the depth only"
    assert ranked[0].score == 1.0
    assert ranked[1].score == pytest.approx(1.0 - 0.1 * 7.0 / 9.0)
    unweighed = by_coverage([closer, named], TERMS, lambda hit: ARTICLES[hit.article_id], 0.0, depth=2)
    assert [hit.chunk_id for hit in unweighed] == [1, 2]


def test_the_archive_weighs_hybrid_search_by_coverage_and_leaves_dense_search_as_it_is(tmp_path, embedder):
    """With the real model, FAISS and SQLite: the article that never names Ellwangen loses score
    in hybrid search, by the share it lacks, and keeps it in dense search."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in ARTICLES.items():
        write_article(folder, f"{name}.txt", "Fernwärme wird teurer", "03.02.2025 - 10:00:00", text.split("\n\n"))
    weighed = Archive.open(tmp_path / "index", embedder=embedder, short_answers=False)
    assert weighed.import_paths([folder]).imported == 2
    plain = Archive.open(tmp_path / "index", embedder=embedder, short_answers=False, fusion=FusionWeights(coverage=0))
    question = "Wie viel mehr zahlt, wer in Ellwangen mit Fernwärme heizt?"

    def scores(archive: Archive, mode: str) -> dict[str, float]:
        return {hit.article_id: hit.score for hit in archive.search(question, k=2, mode=mode)}

    hybrid, hybrid_plain = scores(weighed, "hybrid"), scores(plain, "hybrid")
    assert hybrid["ellwangen"] == pytest.approx(hybrid_plain["ellwangen"])
    assert hybrid["anderswo"] < hybrid_plain["anderswo"] - 0.01
    assert scores(weighed, "dense") == pytest.approx(scores(plain, "dense"))
