"""How the answer sentence is picked: answer accuracy of the signal weights, and weights fitted.

    python bench/tune_answers.py --xquad ../shared/data/xquad_en_de.dev.jsonl \\
        --distractors ../shared/data/news_de.jsonl --keep-index /tmp/qa-eval-index

The candidate sentences and their signals are computed once per question, exactly as
``Archive.ask`` computes them. Weights are fitted by a pairwise logistic regression (the right
sentence of a question against each of its wrong ones) on the English and German questions
of one half of the dev set's subjects and scored on the other half, and the other way round;
then on all of them, scaled so that the sentence similarity counts 1. ``--ablate`` also fits
without each signal in turn; ``--scan SIGNAL`` chooses only that signal's weight on each half
(the others as they are) and scores the choice on the other half.
"""

import argparse
import os
from dataclasses import dataclass

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from dev_set import add_dev_set_arguments, dev_set_archive
from sklearn.linear_model import LogisticRegression

from qa.answering import AnswerWeights
from qa.archive import ANSWER_PASSAGES
from qa.evaluation import answer_is_right, read_dataset
from qa.question import RetrievalMode


@dataclass
class Case:
    language: str
    subject: str
    features: np.ndarray
    right: np.ndarray


def collect(archive, questions, language: str, mode: RetrievalMode) -> list[Case]:
    cases = []
    for item in questions:
        asked = archive.analyse(item.question, mode=mode)
        passages = archive._retriever.chunks(asked, ANSWER_PASSAGES)

        def full_text(hit):
            article = archive.article(hit.article_id)
            return article.body if article and not hit.is_teaser else hit.text

        candidates, features = archive._answers.features(asked, passages, full_text)
        right = np.array([answer_is_right(c.text, item.answers) for c in candidates], dtype=bool)
        cases.append(Case(language, item.subject, features, right))
    return cases


def accuracy(cases: list[Case], weights: np.ndarray) -> float:
    hits = sum(bool(c.right[int(np.argmax(c.features @ weights))]) for c in cases if len(c.right))
    return hits / max(len(cases), 1)


def fit(cases: list[Case], regularisation: float) -> np.ndarray:
    differences = [
        c.features[i] - c.features[j] for c in cases for i in np.flatnonzero(c.right) for j in np.flatnonzero(~c.right)
    ]
    pairs = np.vstack(differences)
    model = LogisticRegression(C=regularisation, fit_intercept=False, max_iter=5000)
    model.fit(np.vstack([pairs, -pairs]), np.r_[np.ones(len(pairs)), np.zeros(len(pairs))])
    weights = model.coef_[0]
    return weights / weights[AnswerWeights.SIGNALS.index("sentence")]


def named(weights: np.ndarray) -> dict[str, float]:
    return {name: round(float(value), 2) for name, value in zip(AnswerWeights.SIGNALS, weights, strict=True)}


def by_language(cases: list[Case], weights: np.ndarray) -> str:
    return " ".join(
        f"{lang} {accuracy([c for c in cases if c.language == lang], weights):.3f}" for lang in ("en", "de")
    )


def across_halves(cases: list[Case], halves: list[set[str]], kept: list[int], args) -> str:
    """Accuracy per language of weights fitted (on ``kept`` signals only) on one half of the
    subjects and scored on the other, the two folds pooled."""
    signals = [Case(c.language, c.subject, c.features[:, kept], c.right) for c in cases]
    right = {"en": 0, "de": 0}
    for tune, check in (halves, halves[::-1]):
        weights = fit(
            [c for c in signals if c.subject in tune and c.right.any() and not c.right.all()], args.regularisation
        )
        for c in signals:
            if c.subject in check and len(c.right):
                right[c.language] += bool(c.right[int(np.argmax(c.features @ weights))])
    totals = {lang: sum(c.language == lang for c in cases) for lang in right}
    return " | ".join(f"{right[lang] / totals[lang]:.3f}" for lang in ("en", "de"))


SCAN = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def scan(cases: list[Case], halves: list[set[str]], signal: str) -> str:
    """The weight of ``signal`` that answers most questions of one half (the other weights as
    they are), and the accuracy per language it gives on the other half, the two folds pooled."""
    column = AnswerWeights.SIGNALS.index(signal)

    def with_weight(value: float) -> np.ndarray:
        weights = AnswerWeights().vector()
        weights[column] = value
        return weights

    chosen, right = [], {"en": 0, "de": 0}
    for tune, check in (halves, halves[::-1]):
        tuning = [c for c in cases if c.subject in tune]
        best = max(SCAN, key=lambda value: accuracy(tuning, with_weight(value)))
        chosen.append(best)
        for c in cases:
            if c.subject in check and len(c.right):
                right[c.language] += bool(c.right[int(np.argmax(c.features @ with_weight(best)))])
    totals = {lang: sum(c.language == lang for c in cases) for lang in right}
    held_out = " ".join(f"{lang} {right[lang] / totals[lang]:.3f}" for lang in ("en", "de"))
    return f"{signal}: chosen on each half {chosen}; on the other half {held_out}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dev_set_arguments(parser)
    parser.add_argument("--mode", default="hybrid")
    parser.add_argument("--regularisation", type=float, default=1.0, help="the logistic regression's C")
    parser.add_argument("--ablate", action="store_true", help="also fit without each signal in turn")
    parser.add_argument("--scan", choices=AnswerWeights.SIGNALS[1:], help="choose this signal's weight alone")
    args = parser.parse_args()
    current = AnswerWeights().vector()
    cases: list[Case] = []
    with dev_set_archive(args) as archive:
        for language in ("en", "de"):
            _paragraphs, questions = read_dataset(args.xquad, language)
            cases += collect(archive, questions, language, RetrievalMode(args.mode))
    ceiling = {lang: np.mean([c.right.any() for c in cases if c.language == lang]) for lang in ("en", "de")}
    print("a right sentence among the candidates: " + " ".join(f"{k} {v:.3f}" for k, v in ceiling.items()))
    print(f"current weights {named(current)}: {by_language(cases, current)}")
    subjects = sorted({c.subject for c in cases})
    halves = [set(subjects[::2]), set(subjects[1::2])]
    trainable = [c for c in cases if c.right.any() and not c.right.all()]
    for number, (tune, check) in enumerate((halves, halves[::-1]), 1):
        weights = fit([c for c in trainable if c.subject in tune], args.regularisation)
        on_check = [c for c in cases if c.subject in check]
        print(
            f"fold {number}: fitted on one half {named(weights)}; on the other half {by_language(on_check, weights)} "
            f"(current weights there {by_language(on_check, current)})"
        )
    weights = fit(trainable, args.regularisation)
    print(f"fitted on all: {named(weights)}: {by_language(cases, weights)}", flush=True)
    if args.scan:
        print(scan(cases, halves, args.scan))
    if args.ablate:
        print("| signals | en (across halves) | de (across halves) |\n|---|---|---|")
        for left_out in (None, *AnswerWeights.SIGNALS[1:]):
            kept = [i for i, name in enumerate(AnswerWeights.SIGNALS) if name != left_out]
            label = "all" if left_out is None else f"without {left_out}"
            print(f"| {label} | {across_halves(cases, halves, kept, args)} |")


if __name__ == "__main__":
    main()
