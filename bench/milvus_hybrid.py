"""Does Milvus's own ``hybrid_search`` rank as well as the project's fusion?

    python bench/milvus_hybrid.py ../shared/data/xquad_en_de.dev.jsonl --index milvus-lite:///tmp/qa-eval-milvus.db

Takes an evaluation archive on Milvus (built by ``qa eval ... --keep-index milvus-lite:///…``)
and, for every dev question in English and German, ranks the chunks four ways, before any
rerank: dense alone; the project's fusion (dense candidates and BM25 candidates, each side's
missing scores fetched, BM25 scaled by the question's ceiling: ``Retriever.rank``); and
Milvus's ``hybrid_search`` over the same two requests with its ``RRFRanker`` (k = 60) and
its ``WeightedRanker`` (a few weights). Reports recall@1/5 and MRR@10 of the question's own
paragraph, by each article's best chunk.
"""

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

from qa import Archive
from qa.evaluation import read_dataset
from qa.question import Question, RetrievalMode
from qa.storage import MilvusStore

CANDIDATES = 50


def ranked_articles(chunk_ids: Sequence[int], owner_of: Callable[[Sequence[int]], dict[int, str]]) -> list[str]:
    owners = owner_of(chunk_ids)
    return list(dict.fromkeys(owners[i] for i in chunk_ids if i in owners))


def score(rankings: list[tuple[list[str], str]]) -> str:
    total = max(len(rankings), 1)
    r1 = sum(ids[:1].count(gold) for ids, gold in rankings) / total
    r5 = sum(gold in ids[:5] for ids, gold in rankings) / total
    mrr = sum(1 / (ids.index(gold) + 1) for ids, gold in rankings if gold in ids[:10]) / total
    return f"R@1 {r1:.3f}  R@5 {r5:.3f}  MRR@10 {mrr:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("xquad", type=Path)
    parser.add_argument("--index", required=True, help="the Milvus URI of an evaluation archive")
    parser.add_argument("--limit", type=int, help="only the first N questions of each language")
    args = parser.parse_args()
    archive = Archive.open(args.index, short_answers=False)
    store = archive.store
    if not isinstance(store, MilvusStore):
        raise SystemExit(f"{args.index}: not a Milvus archive")
    view = store.snapshot()
    client, chunks = view._c.client, view._c.chunks

    def owner_of(ids: Sequence[int]) -> dict[int, str]:
        return {chunk_id: chunk.owner_id for chunk_id, chunk in view.chunks(list(ids)).items()}

    def milvus_hybrid(question: Question, ranker) -> list[int]:
        visible = view._writes.visible()
        requests = [
            AnnSearchRequest(
                data=[question.vector.tolist()],
                anns_field="vector",
                param={"metric_type": "IP"},
                limit=CANDIDATES,
                expr=visible,
            )
        ]
        words = view._words(question.terms)
        if words:
            requests.append(
                AnnSearchRequest(
                    data=[words], anns_field="sparse", param={"metric_type": "BM25"}, limit=CANDIDATES, expr=visible
                )
            )
        found = client.hybrid_search(chunks, requests, ranker, limit=CANDIDATES, output_fields=["owner"])[0]
        return [int(row["id"]) for row in found]

    ways: dict[str, Callable[[Question], list[int]]] = {
        "dense alone": lambda q: [i for i, _ in view.search(q.vector, CANDIDATES)],
        "project's fusion (Retriever.rank)": lambda q: [
            r.chunk_id for r in archive._retriever.rank(view, q, CANDIDATES, None)
        ],
        "Milvus hybrid_search, RRFRanker(60)": lambda q: milvus_hybrid(q, RRFRanker(60)),
    }
    for dense_weight in (0.5, 0.7, 0.9):
        ways[f"Milvus hybrid_search, WeightedRanker({dense_weight}, {1 - dense_weight:.1f})"] = (
            lambda q, w=dense_weight: milvus_hybrid(q, WeightedRanker(w, round(1 - w, 1)))
        )
    for language in ("en", "de"):
        _paragraphs, questions = read_dataset(args.xquad, language)
        questions = questions[: args.limit] if args.limit else questions
        results: dict[str, list[tuple[list[str], str]]] = {name: [] for name in ways}
        for item in questions:
            analysed = archive.analyse(item.question, mode=RetrievalMode.HYBRID)
            for name, way in ways.items():
                results[name].append((ranked_articles(way(analysed), owner_of), item.paragraph_id))
        print(f"questions in {language} ({len(questions)}):")
        for name, rankings in results.items():
            print(f"  {name:<48} {score(rankings)}")
    store.close()


if __name__ == "__main__":
    main()
