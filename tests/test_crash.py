"""Crash safety: `qa import` killed with SIGKILL at random moments never loses or tears an article.

The import runs in a subprocess, committing every few articles; the test lets it publish a
random number (0-2) of generations, waits until it is writing the next one and kills it after
a random delay, so kills land while the model loads, while embedding, while writing a
generation and while publishing it. After every kill the index must open, `qa check` must
find it sound (FAISS ids = chunk ids = BM25 rows, checksums, counts), every article must be
wholly present (its exact chunks) or wholly absent, and nothing committed before may vanish.
Re-running the import then completes the rest.

QA_CRASH_KILLS sets the number of kills (30 by default; 100 for a manual run).
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa import Archive
from qa.chunking import Chunker
from qa.parsing import read_article_file
from tests.conftest import write_article

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("QA_CRASH_KILLS", "30"))
ARTICLES = 15 * KILLS  # a run commits about 10 articles before its kill
WORDS = (
    "Regierung Bundestag Haushalt Streik Bahn Wetter Sturm Hochwasser Kanzler Ministerin Gericht Urteil Klage "
    "Polizei Feuerwehr Einsatz Wahl Partei Umfrage Inflation Preise Energie Gas Strom Wind Solar Fußball Trainer "
    "Tor Sieg Niederlage Verhandlungen Frieden Waffenruhe Gipfel Zölle Export Import Unternehmen Stellen Abbau "
    "Forschung Studie Klinik Impfung Schule Lehrer Schüler Universität Brücke Autobahn Flughafen Hafen Museum"
).split()


def generate(folder: Path, count: int, seed: int = 5) -> list[Path]:
    """Articles in the archive format with varied text, lengths, tags and dates."""
    rng = random.Random(seed)
    paths = []
    for number in range(count):
        paragraphs = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60))).capitalize() + f" Meldung {number}."
            for _ in range(rng.randint(1, 5))
        ]
        day, month = rng.randint(1, 28), rng.randint(1, 12)
        paths.append(
            write_article(
                folder,
                f"{number:04d}.txt",
                f"Artikel {number}: {rng.choice(WORDS)} und {rng.choice(WORDS)}",
                f"{day:02d}.{month:02d}.2025 - {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00",
                paragraphs,
                tags=rng.choice(["Politik", "Sport", "Wirtschaft, Energie", "Panorama"]),
            )
        )
    return paths


def start_import(source: Path, index: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "qa.cli", "import", str(source), "--index", str(index), "--quiet"]
    return subprocess.Popen(
        [*command, "--batch-size", "4"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def staging_folders(index: Path) -> set[str]:
    return {p.name for p in index.iterdir() if p.name.startswith(".building-")} if index.exists() else set()


def published_generation(index: Path) -> int:
    try:
        return json.loads((index / "manifest.json").read_text())["generation"]
    except (OSError, ValueError, KeyError):
        return 0


def wait_for_generations(process: subprocess.Popen, index: Path, count: int, timeout: float = 120) -> int:
    """Until the import has published ``count`` generations of its own; how many it did."""
    start = published_generation(index)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if published_generation(index) - start >= count:
            break
        time.sleep(0.02)
    return published_generation(index) - start


def wait_until_writing(process: subprocess.Popen, index: Path, timeout: float = 120) -> None:
    """Until the import starts a generation of its own (a killed run leaves its staging folder)."""
    before = staging_folders(index)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if staging_folders(index) - before:
            return
        time.sleep(0.02)


def present_articles(index: Path, expected: dict[str, list[str]], embedder) -> set[str]:
    """Ids of the stored articles, after checking the index and that each is whole."""
    if not (index / "manifest.json").exists():
        return set()
    archive = Archive.open(index, embedder=embedder)
    assert archive.check() == []
    snapshot = archive.store.snapshot()
    stored: dict[str, list[str]] = {}
    for owner, text in snapshot._query(
        "SELECT owner_id, text FROM chunks WHERE kind = 'article' ORDER BY owner_id, position"
    ):
        stored.setdefault(owner, []).append(text)
    articles = {row[0] for row in snapshot._query("SELECT id FROM articles")}
    assert set(stored) == articles, "an article without its chunks, or chunks without their article"
    for article_id in articles:
        assert stored[article_id] == expected[article_id], f"{article_id} is torn"
    return articles


def test_random_kills_lose_and_tear_nothing(tmp_path, embedder):
    source, index = tmp_path / "articles", tmp_path / "index"
    source.mkdir()
    chunker = Chunker()
    expected = {}
    for path in generate(source, ARTICLES):
        article = read_article_file(path)
        expected[article.id] = [chunk.text for chunk in chunker.chunk_article(article)]
    rng = random.Random(int(os.environ.get("QA_CRASH_SEED", "1")))
    committed: set[str] = set()
    kills = kills_after_a_commit = 0
    while kills < KILLS:
        process = start_import(source, index)
        published = wait_for_generations(process, index, rng.randint(0, 2))
        wait_until_writing(process, index)
        time.sleep(rng.uniform(0, 1.0))
        if process.poll() is not None:  # it finished before the kill: everything is committed
            now = present_articles(index, expected, embedder)
            assert committed <= now, f"lost after kill {kills}: {sorted(committed - now)[:5]}"
            committed = now
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        kills_after_a_commit += published > 0
        now = present_articles(index, expected, embedder)
        assert committed <= now, f"lost after kill {kills}: {sorted(committed - now)[:5]}"
        committed = now
        if len(committed) == ARTICLES:
            break
    process = start_import(source, index)
    assert process.wait(timeout=600) == 0
    final = present_articles(index, expected, embedder)
    assert final == set(expected)
    assert not staging_folders(index)
    print(
        f"\n{kills} kills ({kills_after_a_commit} after the run had committed), 0 lost, 0 torn; "
        f"{len(committed)} of {ARTICLES} articles committed between kills, {len(final)} after"
    )
    assert kills >= min(KILLS, 30) or len(committed) == ARTICLES
    assert kills_after_a_commit and committed, "no kill landed after a commit: the test proved too little"
