"""Imports whose embedding runs on a local Ray cluster (two actors): the index they write equals
a local import's, and an actor killed in the middle of an import does not stop it."""

import os
import signal

import numpy as np
import pytest

from qa import Archive
from qa.storage import ChunkFilter
from tests.test_crash import generate

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

ARTICLES = 24


@pytest.fixture(scope="module")
def cluster():
    from qa.fanout import RayEmbedder

    embedder = RayEmbedder(actors=2)
    yield embedder
    embedder.close()


def stored(archive: Archive) -> list[tuple[int, str, str, np.ndarray]]:
    view = archive.store.snapshot()
    ids = view.filtered_chunk_ids(ChunkFilter()).tolist()
    chunks = view.chunks(ids)
    return [(i, chunks[i].owner_id, chunks[i].text, view.vectors.reconstruct(i)) for i in sorted(ids)]


def assert_same_index(local: Archive, fanned: Archive) -> None:
    ours, theirs = stored(local), stored(fanned)
    assert [row[:3] for row in ours] == [row[:3] for row in theirs]
    difference = max(float(np.abs(a[3] - b[3]).max()) for a, b in zip(ours, theirs, strict=True))
    assert difference < 1e-5, difference
    assert local.stats().counts == fanned.stats().counts and fanned.check() == []


def test_a_ray_import_writes_the_index_a_local_one_does(tmp_path, embedder, cluster):
    source = tmp_path / "articles"
    source.mkdir()
    generate(source, ARTICLES, seed=3)
    local = Archive.open(tmp_path / "local", embedder=embedder)
    fanned = Archive.open(tmp_path / "ray", embedder=embedder)
    local_report = local.import_paths([source], batch_articles=5)
    ray_report = fanned.import_paths([source], batch_articles=5, executor=cluster)
    assert ray_report.summary() == local_report.summary()
    assert_same_index(local, fanned)


def test_an_actor_killed_mid_import_is_restarted_and_the_import_completes(tmp_path, embedder, cluster):
    source = tmp_path / "articles"
    source.mkdir()
    generate(source, ARTICLES, seed=4)
    local = Archive.open(tmp_path / "local", embedder=embedder)
    local.import_paths([source], batch_articles=5)
    fanned = Archive.open(tmp_path / "ray", embedder=embedder)
    victim = cluster.worker_pids()[0]
    killed = []

    def kill_once(progress) -> None:
        if not killed and progress.batch_chunks_done and progress.records_done >= 5:
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    report = fanned.import_paths([source], progress=kill_once, batch_articles=5, executor=cluster)
    assert killed, "the kill never happened"
    assert report.failed == 0 and report.imported == ARTICLES
    assert victim not in cluster.worker_pids(), "the actor was not restarted"
    assert_same_index(local, fanned)
