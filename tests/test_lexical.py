"""BM25 over German-stemmed terms in the metadata store (real SQLite FTS5), and hybrid retrieval."""

import numpy as np
import pytest

from qa.lexical import LexicalQuery, Phrase, document_terms, german_term
from qa.storage import ChunkFilter, IndexStore
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
    only_first = snapshot.filtered_chunk_ids(ChunkFilter(until=make_article(1).published))
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


def _fts5_table(documents: list[str]):
    import sqlite3

    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(terms)")
    connection.executemany("INSERT INTO t (rowid, terms) VALUES (?, ?)", enumerate(documents, start=1))
    connection.commit()
    return connection


def test_bm25_is_scored_here_as_fts5_scores_it():
    """FTS5's own bm25() on real SQLite against Bm25Statistics, on text with umlauts, accents,
    repeated words, prefixes and two-word phrases."""
    import random

    from qa.lexical import Bm25Statistics, Phrase
    from qa.storage.view import sqlite_varint

    words = "haus häuser strasse straße café cafe über ueber delegation deleg 2025 umjerow verhandl a1 zug".split()
    rng = random.Random(7)
    documents = [" ".join(rng.choices(words, k=rng.randint(1, 30))) for _ in range(300)]
    connection = _fts5_table(documents)
    (block,) = connection.execute("SELECT block FROM t_data WHERE id = 1").fetchone()
    rows, at = sqlite_varint(block, 0)
    tokens, _ = sqlite_varint(block, at)
    assert rows == len(documents)
    terms = ["haus", "häus*", "strasse", "Café", "über", "deleg*", "2025", "umjerow verhandl", "zu*", "fehlt"]
    for _ in range(30):
        phrases = [Phrase.of(term) for term in rng.sample(terms, rng.randint(1, 5))]
        expression = " OR ".join(phrase.fts5() for phrase in phrases)
        counts = {
            phrase: connection.execute("SELECT count(*) FROM t WHERE t MATCH ?", (phrase.fts5(),)).fetchone()[0]
            for phrase in phrases
        }
        statistics = Bm25Statistics(rows, tokens / rows, counts)
        expected = connection.execute("SELECT rowid, -bm25(t) FROM t WHERE t MATCH ?", (expression,)).fetchall()
        assert expected or all(n == 0 for n in counts.values())
        for rowid, score in expected:
            assert statistics.score(phrases, documents[rowid - 1]) == pytest.approx(score, rel=1e-9, abs=1e-12)


def _article(number: int, text: str):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from qa.records import Article

    published = datetime(2025, 1, number % 28 + 1, tzinfo=ZoneInfo("Europe/Berlin"))
    return Article(id=f"p{number}", title=f"Meldung {number}", published=published, paragraphs=(text,), tags=("T",))


def _store_with(tmp_path, texts: list[str]) -> IndexStore:
    """An index of one article per text, all with the same vector: these tests rank by BM25 alone."""
    from qa.chunking import Chunker

    store = IndexStore(tmp_path / "index", "test-model", DIM)
    vector = np.ones((1, DIM), dtype=np.float32) / np.sqrt(DIM)
    with store.write() as batch:
        for number, text in enumerate(texts):
            article = _article(number, text)
            batch.put_article(article, Chunker().chunk_article(article), vector)
    return store


def test_a_search_among_common_words_ranks_as_fts5_ranks(tmp_path, monkeypatch):
    """With words in many chunks, the search ranks only chunks holding a selective word, yet
    gives FTS5's own ranking of the whole query."""
    import qa.storage.view

    monkeypatch.setattr(qa.storage.view, "SELECTIVE_ROWS", 40)
    import random

    rng = random.Random(3)
    rare = ["Leuchtturm", "Hafenmeister", "Sturmflut"]
    texts = []
    for number in range(200):
        words = ["Stadt"] * rng.randint(0, 3) + ["Regen"] * rng.randint(0, 2) + ["Wetter"] * rng.randint(1, 9)
        words += [rng.choice(rare)] * (number % 7 == 0)
        rng.shuffle(words)
        texts.append(" ".join(words) + ".")
    snapshot = _store_with(tmp_path, texts).snapshot()
    query = LexicalQuery.parse("Stadt Regen Wetter Leuchtturm Sturmflut")
    exact = snapshot._query(
        "SELECT rowid, -bm25(chunk_terms) FROM chunk_terms WHERE chunk_terms MATCH ?"
        " ORDER BY bm25(chunk_terms) LIMIT 20",
        (snapshot._narrowed(query).fts5(),),
    )
    found = snapshot.lexical_search(query, 20)
    assert [score for _i, score in found] == pytest.approx([score for _i, score in exact], rel=1e-9)
    best = snapshot.lexical_search(query, 5)
    assert [score for _i, score in best] == pytest.approx([score for _i, score in exact[:5]], rel=1e-9)
    scored = snapshot.lexical_scores(query, [i for i, _score in exact])
    assert [scored[i] for i, _score in exact] == pytest.approx([score for _i, score in exact], rel=1e-9)


def test_chunks_holding_a_common_word_beside_the_rare_one_come_first(tmp_path, monkeypatch):
    """Ranked by the rare word alone the chunks tie; the common words decide, as in FTS5."""
    import qa.storage.view

    monkeypatch.setattr(qa.storage.view, "SELECTIVE_ROWS", 40)
    texts = ["Leuchtturm Wolke Wolke Wolke."] * 30 + ["Leuchtturm Stadt Regen Wolke."] * 3
    texts += ["Stadt Regen Wetter Wolke."] * 60
    snapshot = _store_with(tmp_path, texts).snapshot()
    query = LexicalQuery.parse("Leuchtturm Stadt Regen")
    statistics = snapshot._bm25_statistics(query.phrases)
    assert qa.storage.view.selective_phrases(query.phrases, statistics.phrase_rows, statistics.rows)[1]
    found = snapshot.lexical_search(query, 3)
    chunks = snapshot.chunks([i for i, _score in found])
    assert [chunks[i].text for i, _score in found] == ["Leuchtturm Stadt Regen Wolke."] * 3


def test_the_rarest_phrases_are_selective_up_to_their_rows_together(monkeypatch):
    import qa.storage.view
    from qa.lexical import Phrase
    from qa.storage.view import selective_phrases

    monkeypatch.setattr(qa.storage.view, "SELECTIVE_ROWS", 100)
    rare, rarer, common, wide, absent = (Phrase.of(t) for t in ("hafen", "leuchtturm", "stadt", "wett*", "nirgends"))
    rows = {rare: 60, rarer: 30, common: 900, wide: 5000, absent: 0}
    query = [common, rare, absent, rarer, common, wide]
    assert selective_phrases(query, rows, 10_000) == ([rare, rarer], [common, common, wide])
    rows[rare] = 80
    assert selective_phrases(query, rows, 10_000) == ([rarer], [common, rare, common, wide])
    assert selective_phrases([common, wide, common], rows, 10_000) == ([common, common], [wide])
    assert selective_phrases(query, rows, 200) == ([common, rare, rarer, common, wide], [])
    assert selective_phrases([rare, rarer], rows, 10_000) == ([rare, rarer], [])


def test_a_prefix_is_dropped_only_where_the_word_itself_is_found():
    query = LexicalQuery.parse("Wo treffen sich die Unterhändler aus Kremlingrad?")
    assert "unter*" in query.terms and "kreml*" in query.terms
    common = {"unter*", "treff*", "kreml*"}
    narrowed = query.without_idle_prefixes(lambda prefix, term: prefix in common and term in {"unterhandl", "treff"})
    assert "unter*" not in narrowed.terms and "treff*" not in narrowed.terms
    assert "kreml*" in narrowed.terms and "unterhandl" in narrowed.terms
    english = LexicalQuery.of("negotiates", translated={"negotiates": ("verhandelt",)})
    assert "negot*" in english.without_idle_prefixes(lambda prefix, term: term == "verhandelt").terms


def test_a_common_prefix_is_left_out_where_its_word_is_found(tmp_path, monkeypatch):
    import qa.storage.view

    texts = ["Die Unterhändler trafen sich."] + [f"Das Unternehmen {n} wächst." for n in range(30)]
    snapshot = _store_with(tmp_path, texts).snapshot()
    query = LexicalQuery.parse("Unterhändler")
    assert "unter*" in snapshot._narrowed(query).terms
    monkeypatch.setattr(qa.storage.view, "COMMON_ROWS", 10)
    fresh = IndexStore(tmp_path / "index", "test-model", DIM).snapshot()
    assert "unter*" not in fresh._narrowed(query).terms
    assert [score for _i, score in fresh.lexical_search(query, 5)] == pytest.approx(
        [score for _i, score in fresh.lexical_search(LexicalQuery(fresh._narrowed(query).groups), 5)]
    )
    assert len(fresh.lexical_search(query, 5)) == 1


def test_a_translation_is_stemmed_word_by_word_as_chunks_are():
    """A chunk holds "Baden-Württemberg" as "bad wurttemberg": a translation stemmed whole
    ("baden-wurttemberg") matched no chunk, so an English question's "Baden-Württemberg" never
    found the state's reports."""
    assert german_term("Baden-Württemberg") == "bad-wurttemberg"
    assert german_term("voriges Jahr") == "vorig jahr"
    assert german_term("auf") == ""
    query = LexicalQuery.of("Swabia", prefixes=False, translated={"swabia": ("Baden-Württemberg",)})
    (group,) = query.groups
    assert "bad-wurttemberg" in group
    chunk_terms = document_terms("Die Landesregierung von Baden-Württemberg tagte.")
    assert Phrase.of("bad-wurttemberg").tokens == tuple(chunk_terms.split()[1:3])
