"""The storage contract: what every implementation of ``qa.storage.ArchiveStore`` must do.

Each test takes the ``store`` fixture, parametrised over the implementations: the embedded
index, Milvus on milvus-lite (when the ``milvus`` extra is installed) and, with
``QA_TEST_MILVUS_URI=milvus://host:port`` set, a Milvus server (each test in collections of its
own, dropped afterwards). Vectors are random unit vectors: the model is not under test here.
"""

import os
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from qa.chunking import Chunker
from qa.lexical import LexicalQuery
from qa.records import Article, Teaser, WireInfo
from qa.storage import ArchiveIndexError, ArchiveStore, ChunkFilter, IndexStore, MilvusStore, StoreView
from qa.stories import fingerprint

DIM = 8
BERLIN = ZoneInfo("Europe/Berlin")


def embedded(tmp_path) -> ArchiveStore:
    return IndexStore(tmp_path / "index", "test-model", DIM)


def milvus_lite(tmp_path) -> ArchiveStore:
    pytest.importorskip("milvus_lite")
    return MilvusStore(f"milvus-lite://{tmp_path / 'archive.db'}", "test-model", DIM)


def milvus_server(tmp_path) -> ArchiveStore:
    server = os.environ.get("QA_TEST_MILVUS_URI")
    if not server:
        pytest.skip("QA_TEST_MILVUS_URI is not set")
    return MilvusStore(f"{server.rstrip('/')}/contract_{uuid.uuid4().hex[:12]}", "test-model", DIM)


@pytest.fixture(params=[embedded, milvus_lite, milvus_server], ids=["embedded", "milvus-lite", "milvus-server"])
def store(request, tmp_path) -> ArchiveStore:
    made = request.param(tmp_path)
    yield made
    if isinstance(made, MilvusStore):
        made.drop()


def article(number: int, **changes) -> Article:
    fields = {
        "id": f"a{number}",
        "title": f"Titel {number}",
        "published": datetime(2025, 1, number, 12, tzinfo=BERLIN),
        "paragraphs": (f"Der Leuchtturm Nummer {number} steht am Hafen.", "Ein zweiter Absatz."),
        "tags": ("Hafen",) if number % 2 else ("Stadt",),
        "source": "dpa" if number % 2 else "Bote",
    }
    return Article(**{**fields, **changes})


def unit_vectors(count: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def put(store: ArchiveStore, *articles: Article) -> dict[str, np.ndarray]:
    written = {}
    with store.write() as batch:
        for number, item in enumerate(articles):
            chunks = Chunker().chunk_article(item)
            vectors = unit_vectors(len(chunks), number)
            existing = batch.find_article(item.id)
            if existing:
                batch.delete_owner(existing[0])
            batch.put_article(item, chunks, vectors)
            written[item.id] = vectors
    return written


def owner_of(view: StoreView, chunk_id: int) -> str:
    return view.chunks([chunk_id])[chunk_id].owner_id


def test_put_articles_are_counted_found_and_read_back(store):
    vectors = put(store, article(1), article(2, wire=WireInfo("urn:x", 3, pubstatus="usable", signal="update")))
    view = store.snapshot()
    assert view.counts().articles == 2 and view.size == view.counts().chunks == 2
    (best, score), *_ = view.search(vectors["a1"][0], 2)
    assert owner_of(view, best) == "a1" and score == pytest.approx(1.0, abs=1e-5)
    assert view.article("a2").wire.version == 3 and view.article("a2").paragraphs == article(2).paragraphs
    assert {a.id for a in view.articles()} == {"a1", "a2"}
    assert store.check() == []


def test_a_replaced_article_is_found_only_in_its_new_form(store):
    put(store, article(1))
    put(store, article(1, paragraphs=("Der Leuchtturm wurde abgerissen.",)))
    view = store.snapshot()
    assert view.counts().articles == 1
    hits = view.lexical_search(LexicalQuery.parse("abgerissen"), 5)
    assert [owner_of(view, chunk_id) for chunk_id, _ in hits] == ["a1"]
    assert view.lexical_search(LexicalQuery.parse("zweiter Absatz"), 5) == []


def test_a_removed_article_leaves_nothing_behind(store):
    put(store, article(1), article(2))
    with store.write() as batch:
        batch.delete_owner("a1")
    view = store.snapshot()
    assert view.article("a1") is None and view.counts().articles == 1
    assert {owner_of(view, chunk_id) for chunk_id, _ in view.search(unit_vectors(1, 0)[0], 10)} == {"a2"}
    assert store.check() == []


def test_filters_reach_dense_and_lexical_search(store):
    vectors = put(store, *(article(n) for n in range(1, 7)))
    view = store.snapshot()
    january_3_to_4 = view.filtered_chunk_ids(
        ChunkFilter(datetime(2025, 1, 3, tzinfo=BERLIN), datetime(2025, 1, 4, 23, 59, tzinfo=BERLIN))
    )
    assert {owner_of(view, int(i)) for i in january_3_to_4} == {"a3", "a4"}
    harbour = view.filtered_chunk_ids(ChunkFilter(tags=("Hafen",)))
    assert {owner_of(view, int(i)) for i in harbour} == {"a1", "a3", "a5"}
    from_bote = view.filtered_chunk_ids(ChunkFilter(outlets=("Bote",)))
    assert {owner_of(view, int(i)) for i in from_bote} == {"a2", "a4", "a6"}
    every = view.filtered_chunk_ids(ChunkFilter())
    assert every.tolist() == sorted(every.tolist()), "filtered ids are ascending: lexical search bisects them"
    dense = view.search(vectors["a2"][0], 10, allowed=harbour)
    assert {owner_of(view, i) for i, _ in dense} <= {"a1", "a3", "a5"}
    lexical = view.lexical_search(LexicalQuery.parse("Leuchtturm"), 10, allowed=harbour)
    assert {owner_of(view, i) for i, _ in lexical} == {"a1", "a3", "a5"}
    hidden = np.array([i for i, _ in lexical[:1]], dtype=np.int64)
    assert hidden[0] not in [i for i, _ in view.search(vectors["a1"][0], 10, hidden=hidden)]
    assert dict(view.tags()) == {"Hafen": 3, "Stadt": 3} and dict(view.outlets()) == {"dpa": 3, "Bote": 3}


def test_filters_select_teasers_by_their_own_date_and_section(store):
    put(store, article(1), article(3))
    early = Teaser("Frühe Meldung", "Ein Hafenfest beginnt.", "Hafen", datetime(2025, 1, 2, 9, tzinfo=BERLIN))
    late = Teaser("Späte Meldung", "Der Markt schließt.", "Markt", datetime(2025, 1, 5, 9, tzinfo=BERLIN))
    undated = Teaser("Ohne Datum", "Ein Fährschiff legt an.", "Hafen", None)
    with store.write() as batch:
        for number, teaser in enumerate((early, late, undated)):
            batch.put_teaser(teaser, "a1", Chunker.chunk_teaser(teaser), unit_vectors(1, 40 + number)[0])
    view = store.snapshot()

    def owners(where: ChunkFilter) -> set[str]:
        return {owner_of(view, int(i)) for i in view.filtered_chunk_ids(where)}

    january_2_to_3 = ChunkFilter(datetime(2025, 1, 2, tzinfo=BERLIN), datetime(2025, 1, 3, 23, 59, tzinfo=BERLIN))
    assert owners(january_2_to_3) == {early.id, "a3"}
    assert owners(ChunkFilter(tags=("hafen",))) == {"a1", "a3", early.id, undated.id}
    assert owners(ChunkFilter(since=datetime(2025, 1, 2, tzinfo=BERLIN), tags=("Hafen",))) == {"a3", early.id}
    assert owners(ChunkFilter(outlets=("dpa",))) == {"a1", "a3"}
    assert len(owners(ChunkFilter())) == 5


def test_a_view_stays_as_it_was_while_a_write_publishes(store):
    put(store, article(1))
    before = store.snapshot()
    put(store, article(2))
    assert before.counts().articles == 1 and store.snapshot().counts().articles == 2


def test_a_failed_write_changes_nothing(store):
    put(store, article(1))
    with pytest.raises(RuntimeError, match="stop"), store.write() as batch:
        batch.delete_owner("a1")
        raise RuntimeError("stop")
    assert store.snapshot().article("a1") is not None and store.check() == []


def test_the_lexical_ceiling_bounds_the_bm25_scores(store):
    put(store, *(article(n) for n in range(1, 5)))
    view = store.snapshot()
    query = LexicalQuery.of("Leuchtturm Hafen", prefixes=False)
    scores = [score for _chunk, score in view.lexical_search(query, 10)]
    assert scores and view.lexical_ceiling(query) >= max(scores) > 0
    unknown = LexicalQuery.of("Quxlingen", prefixes=False)
    assert view.lexical_search(unknown, 10) == [] and view.lexical_ceiling(unknown) > 0


def test_chunks_under_embargo_are_named_until_it_ends(store):
    ends = datetime(2025, 1, 20, 12, tzinfo=BERLIN)
    put(store, article(1), article(2, wire=WireInfo("urn:y", 1, embargoed=ends)))
    view = store.snapshot()
    before = view.embargoed_chunk_ids(datetime(2025, 1, 19, tzinfo=BERLIN))
    assert len(before) and {owner_of(view, int(i)) for i in before} == {"a2"}
    assert len(view.embargoed_chunk_ids(datetime(2025, 1, 21, tzinfo=BERLIN))) == 0
    assert view.wire_counts(datetime(2025, 1, 19, tzinfo=BERLIN)) == (1, 0)


def test_copies_of_a_story_are_joined_and_listed(store):
    text = (
        "Die Stadtwerke erhöhen zum Jahreswechsel die Preise für Strom und Gas deutlich, teilte ein Sprecher "
        "am Montag mit. Betroffen sind rund vierzigtausend Haushalte in der Region, die nun Post bekommen."
    )
    first = article(1, paragraphs=(text,))
    copy = article(2, paragraphs=(text + " Ein Wechsel ist möglich.",), source="Bote")
    other = article(3)
    with store.write() as batch:
        for number, item in enumerate((first, copy, other)):
            chunks = Chunker().chunk_article(item)
            batch.put_article(item, chunks, unit_vectors(len(chunks), number))
            if (prints := fingerprint(item.body)) is not None:
                batch.join_story(item.id, prints)
    view = store.snapshot()
    stories = view.stories(["a1", "a2", "a3"])
    assert stories["a1"] == stories["a2"] != stories["a3"]
    members = view.story_members([stories["a1"]])
    assert [owner.id for owner in members[stories["a1"]]] == ["a1", "a2"]


@pytest.mark.parametrize("location", ["milvus://", "milvus://host:19530", "milvus-lite:///tmp/archive.sqlite"])
def test_a_malformed_milvus_location_is_named_with_what_is_expected(location):
    with pytest.raises(ArchiveIndexError, match=r"milvus://host:port/archive-name|a file ending in \.db"):
        MilvusStore(location, "test-model", DIM)
