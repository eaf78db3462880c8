import pytest

from qa.chunking import Chunker, ChunkingConfig
from qa.parsing import read_article_file
from tests.conftest import SEED_FILE


def test_chunks_keep_exact_offsets_and_cover_the_body():
    article = read_article_file(SEED_FILE)
    chunks = Chunker().chunk_article(article)
    body = article.body
    covered = set()
    for position, chunk in enumerate(chunks):
        assert chunk.position == position
        assert body[chunk.span.start : chunk.span.end] == chunk.text
        assert len(chunk.text) <= 500
        assert chunk.embed_text == f"{article.title}\n{chunk.text}"
        covered.update(range(chunk.span.start, chunk.span.end))
    uncovered = "".join(body[i] for i in range(len(body)) if i not in covered)
    assert uncovered.strip() == ""


def test_chunks_end_at_sentence_or_paragraph_boundaries():
    article = read_article_file(SEED_FILE)
    for chunk in Chunker().chunk_article(article):
        assert chunk.text.rstrip()[-1] in '.!?"' or chunk.text.endswith("sprechen")


def test_invalid_config():
    with pytest.raises(ValueError, match="chunk_overlap"):
        ChunkingConfig(chunk_size=100, chunk_overlap=100)
