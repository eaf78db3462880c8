"""What retrieval loses when fewer tokens are embedded per chunk: without the title prefix,
without the 100-character overlap, without both.

    python bench/token_budget.py --xquad ../shared/data/xquad_en_de.dev.jsonl \\
        --distractors ../shared/data/news_de.jsonl

Each variant builds the ``qa eval`` archive afresh (XQuAD's German paragraphs and 2,000 news
chunks) with its own chunking, then prints the tokens it embedded per chunk and recall@1/5
and MRR@10 of dense and hybrid search for English and German questions. Fewer tokens embed
proportionally faster on any CPU, AVX2 included; what they cost in retrieval is what this
measures.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa import Archive
from qa.chunking import Chunker, ChunkingConfig
from qa.embedding import PASSAGE_PREFIX, shared_embedder
from qa.evaluation import distractor_records, read_dataset
from qa.question import RetrievalMode
from qa.records import Article, Chunk
from qa.storage import IndexStore
from qa.translation import shared_dictionary


class VariantChunker(Chunker):
    def __init__(self, overlap: int, title: bool) -> None:
        super().__init__(replace(ChunkingConfig(), chunk_overlap=overlap))
        self.title = title

    def chunk_article(self, article: Article) -> list[Chunk]:
        chunks = super().chunk_article(article)
        return chunks if self.title else [replace(chunk, embed_text=chunk.text) for chunk in chunks]


VARIANTS = {
    "as shipped (title + passage, 100 overlap)": (100, True),
    "no title": (100, False),
    "no overlap": (0, True),
    "neither": (0, False),
}


def ranks(archive: Archive, questions, mode: RetrievalMode) -> list[int | None]:
    found = []
    for item in questions:
        ids = [hit.article_id for hit in archive.search(item.question, k=10, mode=mode)]
        found.append(ids.index(item.paragraph_id) + 1 if item.paragraph_id in ids else None)
    return found


def figures(found: list[int | None]) -> str:
    total = len(found)
    r1 = sum(r == 1 for r in found) / total
    r5 = sum(1 for r in found if r and r <= 5) / total
    mrr = sum(1 / r for r in found if r) / total
    return f"{r1:.3f} / {r5:.3f} / {mrr:.3f}"


class CountingEmbedder:
    """The shared embedder, counting the pieces of every passage it embeds."""

    def __init__(self) -> None:
        self.inner = shared_embedder()
        self.pieces = 0
        self.passages = 0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def embed_passages(self, passages, on_batch=None):
        tokenizer = self.inner._load().tokenizer
        self.pieces += sum(len(e.ids) for e in tokenizer.encode_batch([PASSAGE_PREFIX + p for p in passages]))
        self.passages += len(passages)
        return self.inner.embed_passages(passages, on_batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xquad", type=Path, required=True)
    parser.add_argument("--distractors", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {}
    print(
        "| chunking | chunks embedded | pieces embedded | pieces per chunk | questions in"
        " | dense R@1 / R@5 / MRR@10 | hybrid R@1 / R@5 / MRR@10 |"
    )
    print("|---|---:|---:|---:|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "corpus.jsonl"
        paragraphs, _questions = read_dataset(args.xquad)
        with corpus.open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in paragraphs)
            out.writelines(distractor_records(args.distractors, args.limit))
        for number, (name, (overlap, title)) in enumerate(VARIANTS.items()):
            embedder = CountingEmbedder()
            store = IndexStore(Path(scratch) / f"variant-{number}", embedder.name, embedder.dimension)
            archive = Archive(store, embedder, VariantChunker(overlap, title), dictionary=shared_dictionary())
            archive.import_paths([corpus])
            per_chunk = embedder.pieces / max(embedder.passages, 1)
            for language in ("en", "de"):
                _p, questions = read_dataset(args.xquad, language)
                dense = figures(ranks(archive, questions, RetrievalMode.DENSE))
                hybrid = figures(ranks(archive, questions, RetrievalMode.HYBRID))
                results[f"{name} {language}"] = {
                    "chunks": embedder.passages,
                    "pieces": embedder.pieces,
                    "pieces_per_chunk": per_chunk,
                    "dense": dense,
                    "hybrid": hybrid,
                }
                print(
                    f"| {name} | {embedder.passages:,} | {embedder.pieces:,} | {per_chunk:.1f} | {language}"
                    f" | {dense} | {hybrid} |",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
