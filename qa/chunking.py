"""Chunking: article bodies into overlapping passages that keep their offsets.

Uses langchain's ``RecursiveCharacterTextSplitter`` with separators that give way in the
order a German text does: paragraphs, lines, sentence ends, clause marks, words.
What is embedded is the article title followed by the passage: a wire report's
passages often name neither the subject nor the place that the title does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from qa.records import Article, Chunk, ChunkKind, Span, Teaser

GERMAN_SEPARATORS = [
    r"\n\n",
    r"\n",
    r"(?<=[.!?…])[\"“”»]?\s+(?=[\"„«A-ZÄÖÜ0-9])",
    r"(?<=[;:])\s+",
    r",\s+",
    r"\s+",
    "",
]


_ABBREVIATIONS = {
    "z",
    "b",
    "bzw",
    "ca",
    "dr",
    "prof",
    "nr",
    "st",
    "vgl",
    "u",
    "a",
    "etc",
    "usw",
    "inkl",
    "ggf",
    "evtl",
    "mr",
    "mrs",
    "ms",
    "jr",
    "sr",
    "vs",
    "hl",
    "abs",
    "art",
    "jh",
    "mio",
    "mrd",
    "bspw",
    "sog",
    "d",
    "h",
}
_SENTENCE_END = re.compile(r"[.!?…]+[\"“”»']*\s+|\n+")


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of ``text``; does not split after ordinals ("20. Paket"), abbreviations
    or initials ("Rajendra K. Pachauri")."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start()]
        last_word = re.search(r"(\w+)$", before)
        following = text[match.end() : match.end() + 1]
        if match.group().strip() and last_word:
            word = last_word.group(1)
            initial = len(word) == 1 and word.isupper()
            if word.lower() in _ABBREVIATIONS or initial or (word.isdigit() and len(word) <= 2) or following.islower():
                continue
        end = match.start() + len(match.group().rstrip())
        if text[start:end].strip():
            spans.append(Span(start, end))
        start = match.end()
    if text[start:].strip():
        spans.append(Span(start, len(text.rstrip())))
    return spans


@dataclass(frozen=True)
class ChunkingConfig:
    chunk_size: int = 500
    chunk_overlap: int = 100

    def __post_init__(self) -> None:
        if self.chunk_size <= 0:
            raise ValueError(f"chunk_size must be greater than 0, got {self.chunk_size}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ValueError(f"chunk_overlap must be in [0, chunk_size), got {self.chunk_overlap}")


class Chunker:
    def __init__(self, config: ChunkingConfig | None = None) -> None:
        self.config = config or ChunkingConfig()
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.config.chunk_size,
            chunk_overlap=self.config.chunk_overlap,
            separators=GERMAN_SEPARATORS,
            is_separator_regex=True,
            keep_separator="end",
            add_start_index=True,
        )

    def spans(self, text: str) -> list[Span]:
        """Where each chunk of ``text`` stands; ``text[span.start:span.end]`` is the chunk."""
        spans = []
        for document in self._splitter.create_documents([text]):
            start = document.metadata["start_index"]
            end = start + len(document.page_content)
            if start < 0 or text[start:end] != document.page_content:
                raise AssertionError(f"chunk offsets do not match the text at {start}")
            spans.append(Span(start, end))
        return spans

    def chunk_article(self, article: Article) -> list[Chunk]:
        body = article.body
        return [
            Chunk(
                owner_id=article.id,
                position=position,
                text=body[span.start : span.end],
                span=span,
                embed_text=f"{article.title}\n{body[span.start : span.end]}",
            )
            for position, span in enumerate(self.spans(body))
        ]

    @staticmethod
    def chunk_teaser(teaser: Teaser) -> Chunk:
        """A teaser is short: it is one chunk, embedded as it stands."""
        return Chunk(
            owner_id=teaser.id,
            position=0,
            text=teaser.text,
            span=Span(0, len(teaser.text)),
            embed_text=teaser.text,
            kind=ChunkKind.TEASER,
        )
