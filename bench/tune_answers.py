"""How the answer sentence is picked: answer accuracy for a grid of signal weights.

    python bench/tune_answers.py --xquad ../shared/data/xquad_en_de.dev.jsonl \\
        --distractors ../shared/data/news_de.jsonl --keep-index /tmp/qa-eval-index

The candidate sentences and their signals are computed once per question, exactly as
``Archive.ask`` computes them; each weighting is then scored without the model. Weights are
chosen on one half of the dev set's subjects and checked on the other, and the other way round.
"""

import argparse
import itertools
import os
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from qa.answering import AnswerWeights
from qa.archive import ANSWER_PASSAGES
from qa.evaluation import answer_is_right, evaluation_archive, read_dataset
from qa.retrieval import RetrievalMode

GRID = {
    "sentence": (1.0,),
    "passage": (0.0, 0.25, 0.5, 1.0),
    "shared_terms": (0.0, 0.03, 0.06, 0.1),
    "name_proximity": (0.0, 0.02, 0.05),
}


@dataclass
class Case:
    subject: str
    features: np.ndarray
    right: np.ndarray


def collect(archive, questions, mode: RetrievalMode) -> list[Case]:
    cases = []
    for item in questions:
        query = archive.embedder.embed_queries([item.question])[0]
        passages = archive._retriever.chunks(item.question, ANSWER_PASSAGES, query_vector=query, mode=mode)

        def full_text(hit):
            article = archive.article(hit.article_id)
            return article.body if article and not hit.is_teaser else hit.text

        candidates, features = archive._answers.features(item.question, query, passages, full_text)
        right = np.array([answer_is_right(c.text, item.answers) for c in candidates], dtype=bool)
        cases.append(Case(item.subject, features, right))
    return cases


def named(weights: np.ndarray) -> dict[str, float]:
    return {name: round(float(value), 3) for name, value in zip(GRID, weights, strict=True)}


def accuracy(cases: list[Case], weights: np.ndarray) -> float:
    hits = sum(bool(c.right[int(np.argmax(c.features @ weights))]) for c in cases if len(c.right))
    return hits / max(len(cases), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xquad", type=Path, required=True)
    parser.add_argument("--distractors", type=Path)
    parser.add_argument("--limit", type=int, default=2000, help="distractor chunks")
    parser.add_argument("--keep-index", type=Path)
    parser.add_argument("--mode", default="hybrid")
    args = parser.parse_args()
    grid = [np.array(values, dtype=np.float32) for values in itertools.product(*GRID.values())]
    current = AnswerWeights().vector()
    with evaluation_archive(args.xquad, args.distractors, args.limit, args.keep_index) as archive:
        for language in ("en", "de"):
            _paragraphs, questions = read_dataset(args.xquad, language)
            cases = collect(archive, questions, RetrievalMode(args.mode))
            ceiling = sum(bool(c.right.any()) for c in cases) / len(cases)
            subjects = sorted({c.subject for c in cases})
            halves = [set(subjects[::2]), set(subjects[1::2])]
            print(f"## {language}: {len(cases)} questions; a right sentence among the candidates: {ceiling:.3f}")
            print(f"current weights {named(current)}: {accuracy(cases, current):.3f}")
            for number, (tune, check) in enumerate((halves, halves[::-1]), 1):
                tune_cases = [c for c in cases if c.subject in tune]
                check_cases = [c for c in cases if c.subject in check]
                best = max(grid, key=lambda w: accuracy(tune_cases, w))
                print(
                    f"fold {number}: best on tuning half {named(best)} "
                    f"{accuracy(tune_cases, best):.3f}; on the other half {accuracy(check_cases, best):.3f} "
                    f"(current weights there {accuracy(check_cases, current):.3f})"
                )
            best = max(grid, key=lambda w: accuracy(cases, w))
            print(f"best on all: {named(best)} {accuracy(cases, best):.3f}", flush=True)


if __name__ == "__main__":
    main()
