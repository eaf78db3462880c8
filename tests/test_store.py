"""The index store with real FAISS and SQLite; vectors are random because the model is not under test."""

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from qa.chunking import Chunker
from qa.records import Article
from qa.storage import FORMAT_VERSION, ChunkFilter, IndexBusyError, IndexCorruptError, IndexMismatchError, IndexStore
from qa.storage.files import READ_AHEAD_BLOCK, read_ahead
from qa.vectors import VectorLayout

DIM = 8


def make_article(number: int) -> Article:
    return Article(
        id=f"a{number}",
        title=f"Titel {number}",
        published=datetime(2025, 1, number % 28 + 1, tzinfo=ZoneInfo("Europe/Berlin")),
        paragraphs=(f"Absatz {number} mit Text.", "Noch ein Absatz."),
        tags=("Test",),
    )


def put(store: IndexStore, numbers) -> None:
    rng = np.random.default_rng(0)
    with store.write() as batch:
        for number in numbers:
            article = make_article(number)
            chunks = Chunker().chunk_article(article)
            vectors = rng.normal(size=(len(chunks), DIM)).astype(np.float32)
            batch.put_article(article, chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


@pytest.fixture
def store(tmp_path):
    return IndexStore(tmp_path / "index", "test-model", DIM)


def test_a_write_publishes_one_whole_generation(store):
    put(store, [1, 2])
    manifest = store.read_manifest()
    assert manifest.format_version == FORMAT_VERSION
    assert manifest.generation == 1
    assert manifest.counts.articles == 2
    assert manifest.counts.vectors == manifest.counts.chunks == 2
    files = sorted(p.name for p in store.path.iterdir())
    assert files == [".write.lock", "manifest.json", "metadata-000001.sqlite", "vectors-000001.faiss"]


def test_a_failed_write_leaves_the_previous_generation_untouched(store):
    put(store, [1])
    before = {p.name: p.read_bytes() for p in store.path.iterdir()}
    with pytest.raises(RuntimeError, match="boom"), store.write() as batch:
        batch.delete_owner("a1")
        raise RuntimeError("boom")
    after = {p.name: p.read_bytes() for p in store.path.iterdir()}
    assert after == before
    assert store.snapshot().counts().articles == 1


def test_a_reader_keeps_its_generation_until_its_next_query(store):
    put(store, [1])
    old = store.snapshot()
    put(store, [2])
    assert old.counts().articles == 1
    assert old.article("a1") is not None
    assert store.snapshot().counts().articles == 2


def test_delete_removes_vectors_and_metadata_together(store):
    put(store, [1, 2])
    with store.write() as batch:
        batch.delete_owner("a1")
    snapshot = store.snapshot()
    assert snapshot.vectors.ntotal == snapshot.counts().chunks == 1
    assert snapshot.article("a1") is None


def test_another_model_is_named(store):
    put(store, [1])
    other = IndexStore(store.path, "another-model", DIM)
    with pytest.raises(IndexMismatchError, match=r"built with model test-model.*qa rebuild"):
        other.snapshot()


def test_another_format_version_is_named(store):
    put(store, [1])
    manifest = json.loads(store.manifest_path.read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    store.manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="format version"):
        IndexStore(store.path, "test-model", DIM).snapshot()


@pytest.mark.parametrize("kind", ["vectors", "metadata"])
def test_a_truncated_or_missing_file_is_detected(store, kind):
    put(store, [1, 2])
    manifest = store.read_manifest()
    path = store.path / (manifest.vectors_file if kind == "vectors" else manifest.metadata_file)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IndexCorruptError, match="truncated"):
        IndexStore(store.path, "test-model", DIM).snapshot()
    path.unlink()
    with pytest.raises(IndexCorruptError, match="missing"):
        IndexStore(store.path, "test-model", DIM).snapshot()


def test_a_second_writer_fails_clearly(store):
    put(store, [1])
    second = IndexStore(store.path, "test-model", DIM, lock_timeout=0.3)
    with store.write(), pytest.raises(IndexBusyError, match="another import"), second.write():
        pass


def test_filters_by_date_and_tag(store):
    put(store, [1, 2, 3])
    snapshot = store.snapshot()
    berlin = ZoneInfo("Europe/Berlin")
    ids = snapshot.filtered_chunk_ids(ChunkFilter(since=datetime(2025, 1, 3, tzinfo=berlin)))
    owners = {c.owner_id for c in snapshot.chunks(ids.tolist()).values()}
    assert owners == {"a2", "a3"}
    assert len(snapshot.filtered_chunk_ids(ChunkFilter(tags=("test",)))) == 3
    assert len(snapshot.filtered_chunk_ids(ChunkFilter(tags=("Sport",)))) == 0


def test_a_batch_that_changes_nothing_publishes_nothing(store):
    put(store, [1])
    with store.write() as batch:
        assert batch.find_article("a1") is not None
    assert store.read_manifest().generation == 1


def test_check_finds_a_sound_index_sound(store):
    put(store, [1, 2, 3])
    with store.write() as batch:
        batch.delete_owner("a2")
    assert store.check() == []


def test_check_names_a_file_changed_behind_its_back(store):
    put(store, [1, 2])
    manifest = store.read_manifest()
    path = store.path / manifest.vectors_file
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    (problem,) = store.check()
    assert manifest.vectors_file in problem and "checksum" in problem


def test_check_finds_chunks_without_lexical_entries_and_vectors_without_chunks(store):
    import sqlite3

    put(store, [1, 2])
    manifest = store.read_manifest()
    metadata = store.path / manifest.metadata_file
    with sqlite3.connect(metadata) as db:
        db.execute("DELETE FROM chunk_terms WHERE rowid = (SELECT min(id) FROM chunks)")
        db.execute("DELETE FROM chunks WHERE id = (SELECT max(id) FROM chunks)")
    raw = json.loads(store.manifest_path.read_text())
    raw["metadata_sha256"] = ""
    raw["metadata_bytes"] = metadata.stat().st_size
    store.manifest_path.write_text(json.dumps(raw))
    problems = store.check()
    assert "1 chunks without lexical entries" in problems
    assert "1 vectors without a chunk" in problems
    assert "1 lexical entries without a chunk" in problems


def test_auto_moves_a_large_index_to_ivf_and_keeps_ids_filters_and_removal(store, monkeypatch):
    monkeypatch.setattr("qa.vectors.EXACT_SEARCH_LIMIT", 100)
    put(store, range(1, 40))
    assert store.read_manifest().faiss_type.startswith("IDMap2,Flat")
    put(store, range(40, 120))
    manifest = store.read_manifest()
    assert manifest.faiss_type.startswith("IVF") and manifest.vector_layout == "auto"
    assert store.check() == []
    snapshot = store.snapshot()
    chunk_id = snapshot._query("SELECT id FROM chunks WHERE owner_id = 'a77' LIMIT 1")[0][0]
    vector = snapshot.vectors.reconstruct(chunk_id)
    assert chunk_id in [i for i, _ in snapshot.search(vector, 3)]
    allowed = np.array([chunk_id], dtype=np.int64)
    assert [i for i, _ in snapshot.search(-vector, 5, allowed)] == [chunk_id]
    with store.write() as batch:
        batch.delete_owner("a77")
    assert store.check() == []
    assert chunk_id not in [i for i, _ in store.snapshot().search(vector, 10)]


def test_an_explicit_layout_is_kept_by_later_writes_and_can_be_switched_back(store):
    put(store, range(1, 30))
    with store.write(layout=VectorLayout.IVF_SQ8):
        pass
    assert store.read_manifest().faiss_type.startswith("IVF")
    put(store, range(30, 35))
    manifest = store.read_manifest()
    assert manifest.faiss_type.startswith("IVF") and manifest.vector_layout == "ivf-sq8"
    with store.write(layout=VectorLayout.FLAT):
        pass
    assert store.read_manifest().faiss_type.startswith("IDMap2,Flat")
    assert store.check() == []
    assert store.snapshot().counts().articles == 34


def characters_read() -> int:
    """Bytes this process has read through read() calls, page cache included (Linux)."""
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("rchar:"))


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux's /proc/self/io")
def test_read_ahead_reads_the_whole_file_once_and_skips_one_over_budget(tmp_path):
    path = tmp_path / "metadata.sqlite"
    path.write_bytes(np.random.default_rng(1).bytes(3 * READ_AHEAD_BLOCK + 123))
    before = characters_read()
    thread = read_ahead(path, budget=path.stat().st_size)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert characters_read() - before >= path.stat().st_size
    assert read_ahead(path, budget=path.stat().st_size - 1) is None
    assert read_ahead(tmp_path / "gone.sqlite") is None


def test_opening_an_index_reads_its_metadata_ahead_once(store):
    assert store.snapshot().size == 0
    assert store.warming is None
    put(store, [1, 2])
    opened = IndexStore(store.path, "test-model", DIM)
    opened.snapshot()
    first = opened.warming
    assert first is not None and first.name == f"read-ahead {opened.read_manifest().metadata_file}"
    first.join(timeout=30)
    put(store, [3])
    assert opened.snapshot().counts().articles == 3
    assert opened.warming is first
