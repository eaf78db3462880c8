"""How much BM25 and the best-sentence rerank should count in hybrid retrieval.

    python bench/tune_fusion.py --xquad ../shared/data/xquad_en_de.dev.jsonl \\
        --distractors ../shared/data/news_de.jsonl --keep-index /tmp/qa-eval-index

Prints recall@1/5 and MRR@10 for each pair of weights (and each number of passages the
sentence rerank reads, ``--reranked``), on all questions and on each half
of the dev set's subjects (split by title), so that a choice made on one half can be checked
on the other.
"""

import argparse
import itertools
import os
from dataclasses import replace

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dev_set import add_dev_set_arguments, dev_set_archive

from qa.evaluation import read_dataset
from qa.question import RetrievalMode
from qa.retrieval import FusionWeights

LEXICAL = (0.0, 0.05, 0.1, 0.2, 0.4)
SENTENCE = (0.0, 0.5, 1.0, 2.0)


def ranks(archive, questions) -> list[int | None]:
    found = []
    for item in questions:
        ids = [hit.article_id for hit in archive.search(item.question, k=10, mode=RetrievalMode.HYBRID)]
        found.append(ids.index(item.paragraph_id) + 1 if item.paragraph_id in ids else None)
    return found


def figures(found: list[int | None]) -> str:
    total = max(len(found), 1)
    r1 = sum(1 for r in found if r == 1) / total
    r5 = sum(1 for r in found if r and r <= 5) / total
    mrr = sum(1 / r for r in found if r) / total
    return f"{r1:.3f} / {r5:.3f} / {mrr:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dev_set_arguments(parser)
    parser.add_argument("--lang", nargs="+", default=["en", "de"])
    parser.add_argument("--lexical", type=float, nargs="+", default=LEXICAL)
    parser.add_argument("--sentence", type=float, nargs="+", default=SENTENCE)
    parser.add_argument("--reranked", type=int, nargs="+", default=[FusionWeights.reranked])
    parser.add_argument("--no-prefixes", action="store_true", help="match whole terms only on the lexical side")
    args = parser.parse_args()
    with dev_set_archive(args) as archive:
        print("| questions in | lexical | sentence | reranked | all: R@1 / R@5 / MRR@10 | half A | half B |")
        print("|---|---|---|---|---|---|---|")
        for language in args.lang:
            _paragraphs, questions = read_dataset(args.xquad, language)
            subjects = sorted({q.subject for q in questions})
            half_a = set(subjects[::2])
            for lexical, sentence, reranked in itertools.product(args.lexical, args.sentence, args.reranked):
                archive._retriever.weights = replace(
                    FusionWeights(),
                    lexical=lexical,
                    sentence=sentence,
                    reranked=reranked,
                    prefixes=not args.no_prefixes,
                )
                found = ranks(archive, questions)
                in_a = [r for r, q in zip(found, questions, strict=True) if q.subject in half_a]
                in_b = [r for r, q in zip(found, questions, strict=True) if q.subject not in half_a]
                print(
                    f"| {language} | {lexical} | {sentence} | {reranked} | {figures(found)} | {figures(in_a)}"
                    f" | {figures(in_b)} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
