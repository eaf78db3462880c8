"""How the short answer is chosen: how many passages the reader reads, and what else counts.

    python bench/tune_reader.py --xquad ../shared/data/xquad_en_de.dev.jsonl \\
        --distractors ../shared/data/news_de.jsonl --keep-index /tmp/qa-eval-index

For every dev question the top passages are retrieved as ``Archive.ask`` retrieves them, every
one is read, and the candidate sentences are scored as today. The choice of span is then
replayed offline: by the reader's span score alone, or plus a weight times the passage's
retrieval score (its lead over the best passage) and the score of the sentence that holds the
span, reading the top 1-8 passages. Weights are chosen on one half of the dev set's subjects
and scored on the other (and the other way round); figures are short-answer F1 and exact match
(0 when the span comes from another paragraph) and answer accuracy (the sentence holding the
span holds a gold answer; where no passage answers, today's best sentence).
"""

import argparse
import itertools
import os
import pickle
import time
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from dev_set import add_dev_set_arguments, dev_set_archive

from qa.answering import ReadingChoice, holding_sentence
from qa.archive import ANSWER_PASSAGES
from qa.evaluation import answer_is_right, exact_match, read_dataset, token_f1
from qa.question import RetrievalMode
from qa.retrieval import OVERFETCH


@dataclass
class Option:
    """One passage's reading, with what the replay weighs it by and what it would score."""

    passage: int
    reader_score: float
    confidence: float
    passage_lead: float
    sentence_score: float
    f1: float
    exact: float
    right_sentence: bool


@dataclass
class Case:
    language: str
    subject: str
    options: list[Option]
    fallback_right: bool


def collect(archive, questions, language: str, mode: RetrievalMode) -> list[Case]:
    cases = []
    weights = archive._answers.weights.vector()
    archive._answers.choice = replace(archive._answers.choice, passages=ANSWER_PASSAGES)
    for item in questions:
        asked = archive.analyse(item.question, mode=mode)
        ranked = archive._retriever.chunks(asked, ANSWER_PASSAGES * OVERFETCH)
        passages = ranked[:ANSWER_PASSAGES]

        def full_text(hit):
            article = archive.article(hit.article_id)
            return article.body if article and not hit.is_teaser else hit.text

        candidates, features = archive._answers.features(asked, passages, full_text)
        scores = features @ weights if len(candidates) else np.zeros(0)
        fallback = bool(len(candidates)) and answer_is_right(candidates[int(np.argmax(scores))].text, item.answers)
        everything = archive._answers.readings(asked, passages, full_text)
        best_passage = max((hit.score for hit in passages), default=0.0)
        options = []
        for hit, reading in zip(passages, everything, strict=False):
            if reading.span is None:
                continue
            holding = holding_sentence(candidates, hit, reading.span)
            if holding is None:
                continue
            gold = hit.article_id == item.paragraph_id
            options.append(
                Option(
                    reading.passage,
                    reading.score,
                    reading.confidence,
                    hit.score - best_passage,
                    float(scores[holding]),
                    token_f1(reading.text, item.answers) if gold else 0.0,
                    exact_match(reading.text, item.answers) if gold else 0.0,
                    answer_is_right(candidates[holding].text, item.answers),
                )
            )
        cases.append(Case(language, item.subject, options, fallback))
    return cases


def replay(case: Case, choice: ReadingChoice) -> tuple[float, float, bool]:
    options = [o for o in case.options if o.passage < choice.passages and o.confidence > choice.threshold]
    if not options:
        return 0.0, 0.0, case.fallback_right
    chosen = max(options, key=lambda o: choice.weigh(o.reader_score, o.passage_lead, o.sentence_score))
    return chosen.f1, chosen.exact, chosen.right_sentence


def figures(cases: list[Case], rule: ReadingChoice) -> dict[str, float]:
    rows = np.array([replay(c, rule) for c in cases], dtype=float).reshape(-1, 3)
    return {"f1": 100 * rows[:, 0].mean(), "em": 100 * rows[:, 1].mean(), "accuracy": rows[:, 2].mean()}


def line(label: str, cases: list[Case], rule: ReadingChoice) -> str:
    parts = []
    for language in ("en", "de"):
        of = [c for c in cases if c.language == language]
        f = figures(of, rule)
        parts.append(f"{language}: F1 {f['f1']:.1f} EM {f['em']:.1f} acc {f['accuracy']:.3f}")
    return f"{label}: " + " | ".join(parts)


PASSAGES = (1, 2, 3, 4, 6, 8)
PASSAGE_WEIGHTS = (0.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0)
SENTENCE_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)


def objective(cases: list[Case], rule: ReadingChoice) -> float:
    f = figures(cases, rule)
    return f["f1"] / 100 + f["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dev_set_arguments(parser)
    parser.add_argument("--mode", default="hybrid")
    parser.add_argument("--cases", type=Path, help="keep the collected readings here, and replay them next time")
    args = parser.parse_args()
    cases: list[Case] = []
    started = time.time()
    if args.cases and args.cases.exists():
        cases = pickle.loads(args.cases.read_bytes())
    else:
        with dev_set_archive(args) as archive:
            for language in ("en", "de"):
                _paragraphs, questions = read_dataset(args.xquad, language)
                cases += collect(archive, questions, language, RetrievalMode(args.mode))
        if args.cases:
            args.cases.write_bytes(pickle.dumps(cases))
    print(f"collected {len(cases)} questions in {time.time() - started:.0f} s", flush=True)
    for passages in PASSAGES:
        alone = ReadingChoice(passages=passages, passage_weight=0.0, sentence_weight=0.0)
        print(line(f"reader score alone, {passages} passages", cases, alone))
        print(line(f"shipped weights, {passages} passages", cases, ReadingChoice(passages=passages)))
    subjects = sorted({c.subject for c in cases})
    halves = [set(subjects[::2]), set(subjects[1::2])]
    grid = [
        ReadingChoice(passages=p, passage_weight=a, sentence_weight=b)
        for p, a, b in itertools.product(PASSAGES, PASSAGE_WEIGHTS, SENTENCE_WEIGHTS)
    ]
    for number, (tune, check) in enumerate((halves, halves[::-1]), 1):
        tuning = [c for c in cases if c.subject in tune]
        best = max(grid, key=lambda rule: objective(tuning, rule))
        checking = [c for c in cases if c.subject in check]
        print(line(f"fold {number}: chosen {best} on one half; on the other", checking, best))
    best = max(grid, key=lambda rule: objective(cases, rule))
    print(line(f"chosen on all: {best}", cases, best))
    for threshold in (0.1, 0.3, 0.5, 0.7):
        rule = replace(best, threshold=threshold)
        print(line(f"  threshold {threshold}", cases, rule))


if __name__ == "__main__":
    main()
