"""The archive on Milvus (milvus-lite): the same answers as the embedded index, and no torn or
lost article when an import is killed with SIGKILL in the middle of a write.

milvus-lite opens a database in one process at a time, so the kill test reads the archive
between the import's runs, never beside one.
"""

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa import Archive
from qa.chunking import Chunker
from qa.parsing import read_article_file
from qa.storage import ChunkFilter, IndexMismatchError, MilvusStore
from tests.conftest import SEEDS, write_article
from tests.test_crash import generate

pytest.importorskip("milvus_lite")
pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("QA_MILVUS_KILLS", "8"))
QUESTIONS = (
    "Who leads the Ukrainian delegation?",
    "Wo finden die Gespräche statt?",
    "Sanktionen gegen Russland",
)


def lite(path) -> str:
    return f"milvus-lite://{path}"


@pytest.fixture(scope="module")
def both(tmp_path_factory, embedder) -> tuple[Archive, Archive]:
    folder = tmp_path_factory.mktemp("milvus")
    embedded = Archive.open(folder / "index", embedder=embedder)
    milvus = Archive.open(lite(folder / "archive.db"), embedder=embedder)
    for archive in (embedded, milvus):
        report = archive.import_paths([SEEDS])
        assert report.failed == 0 and report.imported > 0
    yield embedded, milvus
    milvus.store.close()


def test_the_same_files_give_the_same_archive(both):
    embedded, milvus = both
    assert embedded.stats().counts == milvus.stats().counts
    assert milvus.stats().location.startswith("milvus-lite://")
    ours, theirs = embedded.store.snapshot(), milvus.store.snapshot()
    assert [a for a in ours.articles()] == [a for a in theirs.articles()]
    assert ours.teasers() == theirs.teasers() and ours.tags() == theirs.tags()
    assert milvus.check() == []


@pytest.mark.parametrize("question", QUESTIONS)
def test_dense_search_finds_the_same_chunks_with_the_same_similarities(both, question):
    ours, theirs = (archive.search(question, k=5, mode="dense") for archive in both)
    assert [(hit.article_id, hit.text) for hit in ours] == [(hit.article_id, hit.text) for hit in theirs]
    assert np.allclose([hit.similarity for hit in ours], [hit.similarity for hit in theirs], atol=1e-5)


def test_the_answer_is_the_same(both):
    ours, theirs = (archive.ask(QUESTIONS[0]) for archive in both)
    assert theirs.short == "Rustem Umjerow" == ours.short
    assert theirs.source.article_id == ours.source.article_id and theirs.short_span == ours.short_span


def test_bm25_search_reaches_german_stems(both):
    _embedded, milvus = both
    hits = milvus.search("Umjerows Verhandlungen", k=3, mode="bm25")
    assert hits and "Umjerow" in hits[0].text


def test_update_remove_and_rebuild(tmp_path, embedder):
    source = tmp_path / "articles"
    source.mkdir()
    first = write_article(source, "a.txt", "Hafen", "02.01.2025 - 10:00:00", ["Der Leuchtturm Quxlingen steht."])
    write_article(source, "b.txt", "Stadt", "03.01.2025 - 10:00:00", ["Das Rathaus Zorbanow wird renoviert."])
    archive = Archive.open(lite(tmp_path / "archive.db"), embedder=embedder)
    archive.import_paths([source])
    write_article(source, "a.txt", "Hafen", "02.01.2025 - 10:00:00", ["Der Leuchtturm Quxlingen wurde abgerissen."])
    report = archive.import_paths([first])
    assert report.updated == 1
    assert "abgerissen" in archive.search("Quxlingen", k=1, mode="bm25")[0].text
    zorbanow = archive.search("Zorbanow", k=1, mode="bm25")[0].article_id
    archive.remove([zorbanow])
    assert archive.search("Zorbanow", k=1, mode="bm25") == [] and archive.stats().counts.articles == 1
    archive.rebuild()
    assert archive.stats().counts.articles == 1 and archive.check() == []
    assert "abgerissen" in archive.search("Quxlingen Leuchtturm", k=1)[0].text
    archive.store.close()


def test_another_model_is_named_plainly(tmp_path, embedder):
    location = lite(tmp_path / "archive.db")
    store = MilvusStore(location, "test-model", 8)
    with store.write() as batch:
        assert batch.find_article("x") is None
        batch.delete_owner("x")
    store.close()
    with pytest.raises(IndexMismatchError, match=r"built with model test-model .*rebuild"):
        Archive.open(location, embedder=embedder)


def test_a_second_process_is_told_the_database_is_in_use(tmp_path):
    location = lite(tmp_path / "archive.db")
    holder = MilvusStore(location, "test-model", 8)
    holder.snapshot()
    opener = (
        "import sys\nfrom qa.storage import MilvusStore, IndexBusyError\n"
        "try:\n    MilvusStore(sys.argv[1], 'test-model', 8).snapshot()\n"
        "except IndexBusyError as error:\n    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", opener, location], capture_output=True, text=True, timeout=120)
    holder.close()
    assert "one process at a time" in result.stdout, result.stdout + result.stderr


def start_import(source, location) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "import", str(source), "--index", location, "--quiet", "--batch-size", "4"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def wait_until_writing(process: subprocess.Popen, lock: Path, timeout: float = 120) -> None:
    """Until the import has begun a write (the lock file says so) and not committed it yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError):
            if lock.read_text().strip().endswith("begun"):
                return
        time.sleep(0.0005)


def whole_articles(location: str, expected: dict[str, list[str]]) -> tuple[set[str], int]:
    """The ids of the articles a reader sees, after checking each is whole; and how many writes
    the kill interrupted before their commit."""
    store = MilvusStore(location, "intfloat/multilingual-e5-small", 384)
    try:
        assert store.check() == []
        interrupted = len(store.leftovers())
        view = store.snapshot()
        articles = {article.id for article in view.articles()}
        ids = view.filtered_chunk_ids(ChunkFilter())
        chunks = view.chunks(ids.tolist())
        stored: dict[str, list[tuple[int, str]]] = {}
        for chunk in chunks.values():
            stored.setdefault(chunk.owner_id, []).append((chunk.position, chunk.text))
        assert set(stored) == articles, "an article without its chunks, or chunks without their article"
        for article_id in articles:
            assert [text for _position, text in sorted(stored[article_id])] == expected[article_id], article_id
        return articles, interrupted
    finally:
        store.close()


def test_random_kills_lose_and_tear_nothing(tmp_path):
    source, location = tmp_path / "articles", lite(tmp_path / "archive.db")
    lock = tmp_path / "archive.db.write.lock"
    source.mkdir()
    chunker = Chunker()
    expected = {}
    for path in generate(source, 40 * KILLS):
        article = read_article_file(path)
        expected[article.id] = [chunk.text for chunk in chunker.chunk_article(article)]
    rng = random.Random(int(os.environ.get("QA_CRASH_SEED", "1")))
    committed: set[str] = set()
    interrupted = 0
    for kill in range(KILLS):
        process = start_import(source, location)
        for _commit in range(rng.randint(0, 2)):
            wait_until_writing(process, lock)
            time.sleep(0.2)
        wait_until_writing(process, lock)
        time.sleep(rng.uniform(0, 0.008))
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        now, cut = whole_articles(location, expected)
        assert committed <= now, f"lost after kill {kill + 1}: {sorted(committed - now)[:5]}"
        committed, interrupted = now, interrupted + cut
    process = start_import(source, location)
    assert process.wait(timeout=900) == 0
    final, left = whole_articles(location, expected)
    assert final == set(expected) and left == 0
    print(f"\n{KILLS} kills, {interrupted} of them inside a write before its commit; 0 lost, 0 torn")
    assert not lock.read_text().strip().endswith("begun")
    assert interrupted, "no kill landed inside a write: the test proved too little"
