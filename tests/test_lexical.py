"""BM25 over German-stemmed terms in the metadata store (real SQLite FTS5), and hybrid retrieval."""

import numpy as np
import pytest

from qa.lexical import LexicalQuery, document_terms
from qa.storage import IndexStore
from tests.test_store import DIM, make_article, put


def test_german_words_are_stemmed_and_stopwords_left_out():
    terms = document_terms("Die Gespräche über die Verhandlungen der ukrainischen Delegation").split()
    assert "die" not in terms and "über" not in terms
    assert set(terms) == {"gesprach", "verhandl", "ukrain", "delegation"}


def test_a_question_matches_in_either_language():
    query = LexicalQuery.parse("Who negotiates in the talks?")
    assert "who" not in query.terms and "the" not in query.terms
    assert len(query.groups) == 2
    german = LexicalQuery.parse("Wer führt die Gespräche?")
    assert "gesprach" in german.terms
    assert LexicalQuery.parse("the of und").fts5() is None
    assert '"' not in "".join(LexicalQuery.parse('Umjerow" OR NEAR(').terms)


def test_lexical_terms_come_and_go_with_their_chunks(tmp_path):
    store = IndexStore(tmp_path / "index", "test-model", DIM)
    put(store, [1, 2, 3])
    snapshot = store.snapshot()
    count = snapshot._query("SELECT count(*) FROM chunk_terms")[0][0]
    assert count == snapshot.vectors.ntotal == 3
    hits = snapshot.lexical_search(LexicalQuery.parse("Absatz 2"), 5)
    assert hits and snapshot.chunks([hits[0][0]])[hits[0][0]].owner_id == "a2"
    with store.write() as batch:
        batch.delete_owner("a2")
    snapshot = store.snapshot()
    assert snapshot._query("SELECT count(*) FROM chunk_terms")[0][0] == 2
    owners = {snapshot.chunks([i])[i].owner_id for i, _score in snapshot.lexical_search(LexicalQuery.parse("2"), 5)}
    assert "a2" not in owners


def test_lexical_search_honours_filters(tmp_path):
    store = IndexStore(tmp_path / "index", "test-model", DIM)
    put(store, [1, 2])
    snapshot = store.snapshot()
    only_first = snapshot.filtered_chunk_ids(None, make_article(1).published, None)
    hits = snapshot.lexical_search(LexicalQuery.parse("Absatz Text"), 5, only_first)
    assert {snapshot.chunks([i])[i].owner_id for i, _ in hits} == {"a1"}
    assert snapshot.lexical_search(LexicalQuery.parse("Absatz"), 5, np.array([], dtype=np.int64)) == []


@pytest.mark.slow
def test_a_name_is_found_by_its_letters(seed_archive):
    hits = seed_archive.search("Umjerow", k=3, mode="bm25")
    assert hits and "Umjerow" in hits[0].text
    assert all("Umjerow" in hit.text for hit in hits)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_every_mode_returns_ranked_hits_with_their_similarity(seed_archive, mode):
    hits = seed_archive.search("Treffen in Miami mit dem Kreml", k=3, mode=mode)
    assert hits
    assert hits == sorted(hits, key=lambda h: -h.score)
    assert all(0.5 < hit.similarity <= 1.0 for hit in hits)
    assert "Miami" in hits[0].text


@pytest.mark.slow
def test_an_import_updates_the_lexical_index_too(archive, tmp_path):
    from tests.conftest import write_article

    folder = tmp_path / "in"
    folder.mkdir()
    write_article(folder, "a.txt", "Hafen", "01.02.2025 - 10:00:00", ["Der Hafen von Quxlingen wird erweitert."])
    archive.import_paths([folder])
    assert archive.search("Quxlingen", k=1, mode="bm25")[0].title == "Hafen"
    write_article(folder, "a.txt", "Hafen", "01.02.2025 - 10:00:00", ["Der Hafen von Zorbanow wird erweitert."])
    archive.import_paths([folder])
    assert archive.search("Quxlingen", k=1, mode="bm25") == []
    assert archive.search("Zorbanow", k=1, mode="bm25")[0].title == "Hafen"
