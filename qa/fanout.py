"""An import's embedding fanned out over a Ray cluster.

Embedding is nearly all of an import's time. :class:`RayEmbedder` stands in for the
:class:`~qa.embedding.Embedder` where the import embeds passages: each commit's texts are cut
into slices and handed to a pool of Ray actors, each of which loads the model once and keeps
it; the vectors come back in order to the one process that parses, chunks and writes, which
commits exactly as a local import does. An actor that dies is restarted by Ray and its slice
sent again (``max_restarts``, ``max_task_retries``); when that too fails, the commit fails
before anything of it is written.

Ray is the optional ``ray`` extra. Every worker needs this package and the built model (the
first ``qa`` command on a machine builds it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from qa.embedding import DIMENSION, MODEL_NAME, ONNX_THREADS_ENV

LOCAL = "local"
SLICE = 32
"""Passages per task: small enough that two actors share a commit's texts evenly."""


class PassageEncoder(Protocol):
    """What an import embeds with: the local :class:`~qa.embedding.Embedder` or a :class:`RayEmbedder`."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed_passages(self, passages: Sequence[str], on_batch: Callable[[int], None] | None = None) -> np.ndarray: ...


class RayNotInstalledError(RuntimeError):
    pass


class _Worker:
    """One Ray actor: the model, loaded on first use and kept."""

    def __init__(self, threads: int) -> None:
        os.environ[ONNX_THREADS_ENV] = str(threads)
        from qa.embedding import shared_embedder

        self.embedder = shared_embedder()

    def embed(self, passages: list[str]) -> np.ndarray:
        return self.embedder.embed_passages(passages)

    def pid(self) -> int:
        return os.getpid()


class RayEmbedder:
    """Embeds passages on ``actors`` Ray actors of ``cpus`` CPUs each, on the cluster at
    ``address`` (``"auto"`` finds a running one) or on a local one started for this import."""

    name = MODEL_NAME
    dimension = DIMENSION

    def __init__(self, address: str | None = None, actors: int = 2, cpus: int = 1) -> None:
        try:
            import ray
            from ray.util import ActorPool
        except ImportError:
            raise RayNotInstalledError("Ray is not installed; install it with: pip install -e '.[ray]'") from None
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        self._started_here = not ray.is_initialized()
        if self._started_here:
            if address in (None, LOCAL):
                ray.init(
                    num_cpus=actors * cpus,
                    include_dashboard=False,
                    logging_level="WARNING",
                    log_to_driver=False,
                    object_store_memory=256 * 2**20,
                )
            else:
                ray.init(address=address, logging_level="WARNING", log_to_driver=False)
        worker = ray.remote(num_cpus=cpus, max_restarts=2, max_task_retries=2)(_Worker)
        self.actors = [worker.remote(cpus) for _ in range(actors)]
        self._pool = ActorPool(self.actors)
        self._ray = ray

    def worker_pids(self) -> list[int]:
        return self._ray.get([actor.pid.remote() for actor in self.actors])

    def embed_passages(self, passages: Sequence[str], on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """Slices of passages of like length (by characters: the pieces are counted where the
        model is) to the actors, the vectors back in the order given."""
        vectors = np.zeros((len(passages), DIMENSION), dtype=np.float32)
        if not passages:
            return vectors
        by_length = sorted(range(len(passages)), key=lambda n: -len(passages[n]))
        slices = [by_length[start : start + SLICE] for start in range(0, len(by_length), SLICE)]
        parts = self._pool.map(lambda actor, part: actor.embed.remote([passages[n] for n in part]), slices)
        for part, part_vectors in zip(slices, parts, strict=True):
            vectors[part] = part_vectors
            if on_batch:
                on_batch(len(part))
        return vectors

    def close(self) -> None:
        for actor in self.actors:
            self._ray.kill(actor)
        self.actors = []
        if self._started_here:
            self._ray.shutdown()

    def __enter__(self) -> RayEmbedder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
