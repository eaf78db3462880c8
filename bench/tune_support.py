"""Fit the support stage's confidence (``qa.support.SupportWeights``) on the news dev set.

Asks every question of an archive set (``newsqa_dev.jsonl``: both forms, both languages) over
the imported archive with nothing declined, and records each short answer's signals and
whether it is right (token F1 >= 0.5 with a gold answer; any answer to an unanswerable question
is wrong). A logistic regression from the signals (standardised) to "right" is fitted on one half of the
set's articles and checked on the other (reliability per bucket of 0.1, both ways), then fitted
on the whole set; the threshold is chosen on the fitting half: the one that declines the most
unanswerable questions while declining at most ``--max-declined-answerable`` of the answerable.

    python bench/tune_support.py --dataset ../shared/data/newsqa_dev.jsonl \\
        --archive ../shared/data/news_de.jsonl --keep-index /tmp/newsqa-index --cases /tmp/support-cases.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.answering import MIN_RELEVANCE
from qa.archive_evaluation import FORMS, RIGHT_F1, imported_archive, read_archive_questions
from qa.evaluation import LANGUAGES, token_f1
from qa.support import Calibration, SupportJudge, SupportWeights, log_odds
from qa.words import words


@dataclass(frozen=True)
class Case:
    qid: str
    half: int
    form: str
    language: str
    answerable: bool
    near_miss: bool
    missing: bool
    """A name or number of the question stands in no article (declined whatever the confidence)."""
    signals: dict | None
    short: str | None
    right: bool
    best_similarity: float = 1.0
    """The similarity of the closest passage: below the relevance line nothing is answered."""


def half_of(key: str) -> int:
    return hashlib.sha256(key.encode()).digest()[0] % 2


def collect(args: argparse.Namespace) -> list[Case]:
    cases = []
    with imported_archive(args.archive, args.keep_index) as archive:
        archive._answers.judge = SupportJudge(decline=False)
        if args.read_threshold is not None:
            archive._answers.choice = replace(archive._answers.choice, threshold=args.read_threshold)
        for form in FORMS:
            for language in LANGUAGES:
                for item in read_archive_questions(args.dataset, form, language):
                    answer = archive.ask(item.text, min_relevance=args.min_relevance)
                    f1 = token_f1(answer.short, item.answers) if item.answerable else 0.0
                    missing = bool(answer.analysis and SupportJudge().missing(answer.analysis))
                    cases.append(
                        Case(
                            item.qid,
                            half_of(item.article_id or item.qid),
                            form,
                            language,
                            item.answerable,
                            item.near_miss,
                            missing,
                            asdict(answer.signals) if answer.signals else None,
                            answer.short,
                            answer.short is not None and f1 >= RIGHT_F1,
                            max((hit.similarity for hit in answer.sources), default=0.0),
                        )
                    )
                print(f"{form} {language}: {len(cases)} asked", flush=True)
    return cases


def question_texts(dataset: Path) -> dict[tuple[str, str, str], str]:
    """Each question's text by (qid, form, language)."""
    return {
        (item.qid, form, language): item.text
        for form in FORMS
        for language in LANGUAGES
        for item in read_archive_questions(dataset, form, language)
    }


def recheck_missing(cases: list[Case], args: argparse.Namespace) -> list[Case]:
    """The recorded answers with "a name is missing" decided again by the code as it is now
    (it reads only the question and the archive's terms, not the answer)."""
    from qa import Archive

    archive = Archive.open(args.keep_index, short_answers=False)
    texts = question_texts(args.dataset)
    judge = SupportJudge()
    return [
        replace(case, missing=bool(judge.missing(archive.analyse(texts[(case.qid, case.form, case.language)]))))
        for case in cases
    ]


def matrix(cases: list[Case]) -> np.ndarray:
    return np.array([[case.signals[name] for name in SupportWeights.SIGNALS] for case in cases], dtype=float)


FALLING = frozenset({"rank"})
"""Signals whose rise makes an answer less likely right; every other one makes it more likely."""


def fit(cases: list[Case], regularisation: float) -> SupportWeights:
    """A logistic regression on the standardised signals, each weight held to its signal's
    direction (a signal that rises with right answers cannot count against one, however it
    correlates with the others), with an L2 penalty of 1 / ``regularisation``."""
    from scipy.optimize import minimize

    signals = matrix(cases)
    mean, spread = signals.mean(axis=0), signals.std(axis=0) + 1e-9
    scaled = (signals - mean) / spread
    right = np.array([case.right for case in cases], dtype=float)

    def loss(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        logits = parameters[0] + scaled @ parameters[1:]
        chance = 1 / (1 + np.exp(-logits))
        value = np.sum(np.logaddexp(0, logits) - right * logits) + 0.5 / regularisation * np.sum(parameters[1:] ** 2)
        gradient = np.concatenate(
            [[np.sum(chance - right)], scaled.T @ (chance - right) + parameters[1:] / regularisation]
        )
        return float(value), gradient

    bounds = [(None, None)] + [(None, 0.0) if name in FALLING else (0.0, None) for name in SupportWeights.SIGNALS]
    found = minimize(loss, np.zeros(len(SupportWeights.SIGNALS) + 1), jac=True, bounds=bounds, method="L-BFGS-B")
    raw = found.x[1:] / spread
    bias = float(found.x[0] - (raw * mean).sum())
    weights = dict(zip(SupportWeights.SIGNALS, (round(float(w), 3) for w in raw), strict=True))
    return SupportWeights(bias=round(bias, 3), **weights)


def decisions(
    cases: list[Case], weights: SupportWeights, min_relevance: float = MIN_RELEVANCE
) -> list[tuple[Case, float, bool]]:
    """Each case with its confidence and whether an answer is given."""
    judged = []
    for case in cases:
        if case.signals is None or case.best_similarity < min_relevance:
            judged.append((case, 0.0, False))
            continue
        confidence = weights.confidence(_signals(case))
        judged.append((case, confidence, not case.missing and confidence >= weights.threshold))
    return judged


def _signals(case: Case):
    from qa.records import SupportSignals

    known = {field.name for field in fields(SupportSignals)}
    values = {name: value for name, value in case.signals.items() if name in known}
    values["absent"] = tuple(values.get("absent", ()))
    return SupportSignals(**values)


def figures(cases: list[Case], weights: SupportWeights, min_relevance: float = MIN_RELEVANCE) -> dict:
    judged = decisions(cases, weights, min_relevance)
    answerable = [(c, given) for c, _conf, given in judged if c.answerable]
    missing = [(c, given) for c, _conf, given in judged if not c.answerable and not c.near_miss]
    near = [(c, given) for c, _conf, given in judged if c.near_miss]
    given = [(c, conf) for c, conf, ok in judged if ok]

    def declined(group: list) -> float:
        return sum(not g for _c, g in group) / max(len(group), 1)

    buckets = []
    for low in range(10):
        inside = [c for c, conf in given if min(int(conf * 10), 9) == low]
        if inside:
            buckets.append((low / 10, len(inside), sum(c.right for c in inside) / len(inside)))
    return {
        "declined_answerable": declined(answerable),
        "declined_missing": declined(missing),
        "declined_near_miss": declined(near),
        "answers_given": len(given),
        "answers_right": sum(c.right for c, _ in given) / max(len(given), 1),
        "right_given": sum(c.right for c, _ in given),
        "reliability": buckets,
    }


def choose_threshold(cases: list[Case], weights: SupportWeights, max_declined: float) -> float:
    """The highest threshold that declines at most ``max_declined`` of the answerable questions.
    (Held to every form and language at once, no threshold above 0 would do: English long
    questions are declined 0.09-0.12 without any, by the reader and by names German writes
    otherwise.)"""
    best = 0.0
    for threshold in np.arange(0.05, 0.95, 0.01):
        trial = replace(weights, threshold=round(float(threshold), 2))
        if figures(cases, trial)["declined_answerable"] <= max_declined:
            best = round(float(threshold), 2)
    return best


def describe(label: str, result: dict) -> None:
    print(
        f"{label}: declined answerable {result['declined_answerable']:.3f}, missing {result['declined_missing']:.3f}, "
        f"near miss {result['declined_near_miss']:.3f}; {result['answers_given']} answers, "
        f"{result['answers_right']:.3f} right"
    )
    for low, count, share in result["reliability"]:
        flag = "" if count < 10 or abs(share - (low + 0.05)) <= 0.1 else "  (off by more than 0.1)"
        print(f"    {low:.1f}-{low + 0.1:.1f}: {count:4d} answers, {share:.2f} right{flag}")


def calibration_rows(cases: list[Case], dataset: Path) -> list[tuple[Case, float, int]]:
    """The answers the shipped weights give, each with its probability and its question's length in words."""
    texts = question_texts(dataset)
    return [
        (case, probability, len(words(texts[(case.qid, case.form, case.language)])))
        for case, probability, given in decisions(cases, SupportWeights())
        if given
    ]


def fit_calibration(rows: list[tuple[Case, float, int]], regularisation: float = 10.0) -> Calibration:
    """A logistic regression from (log-odds of the probability, log of the question's length) to "right"."""
    from scipy.optimize import minimize

    low, high = Calibration().lengths
    features = np.array([[log_odds(p), math.log(min(max(n, low), high))] for _case, p, n in rows])
    right = np.array([case.right for case, _p, _n in rows], dtype=float)

    def loss(parameters: np.ndarray) -> float:
        logits = parameters[0] + features @ parameters[1:]
        return float(
            np.sum(np.logaddexp(0, logits) - right * logits) + 0.5 / regularisation * np.sum(parameters[1:] ** 2)
        )

    found = minimize(loss, np.array([0.0, 1.0, 0.0]), method="L-BFGS-B")
    bias, scale, length = (round(float(v), 3) for v in found.x)
    return Calibration(scale=scale, length=length, bias=bias)


def describe_calibration(label: str, rows: list[tuple[Case, float, int]], calibration: Calibration | None) -> None:
    """Brier score, and the buckets (of ten or more answers, per form and language) more than 0.1 off."""
    shown = [calibration.shown(p, n) if calibration else p for _case, p, n in rows]
    right = [case.right for case, _p, _n in rows]
    brier = sum((s - r) ** 2 for s, r in zip(shown, right, strict=True)) / max(len(rows), 1)
    slices: dict[tuple[str, str, int], list[bool]] = {}
    for (case, _p, _n), value, ok in zip(rows, shown, right, strict=True):
        slices.setdefault((case.form, case.language, min(int(value * 10), 9)), []).append(ok)
    full = {key: oks for key, oks in slices.items() if len(oks) >= 10}
    off = sum(abs(sum(oks) / len(oks) - (key[2] / 10 + 0.05)) > 0.1 for key, oks in full.items())
    print(f"  {label}: Brier {brier:.4f}, buckets off by more than 0.1: {off} of {len(full)}")


def calibrate(cases: list[Case], dataset: Path) -> None:
    rows = calibration_rows(cases, dataset)
    print(f"{len(rows)} answers given by the shipped weights")
    for fit_half in (0, 1):
        calibration = fit_calibration([row for row in rows if row[0].half == fit_half])
        held_out = [row for row in rows if row[0].half != fit_half]
        print(f"fitted on half {fit_half}: {calibration}")
        describe_calibration(f"half {1 - fit_half} (held out), probability shown", held_out, None)
        describe_calibration(f"half {1 - fit_half} (held out), calibrated", held_out, calibration)
    calibration = fit_calibration(rows)
    print(f"fitted on the whole set: {calibration}")
    describe_calibration("whole set, probability shown", rows, None)
    describe_calibration("whole set, calibrated", rows, calibration)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--archive", type=Path, required=True)
    parser.add_argument("--keep-index", type=Path)
    parser.add_argument("--cases", type=Path, help="the recorded answers: read if there, else written")
    parser.add_argument("--regularisation", type=float, default=1.0)
    parser.add_argument("--read-threshold", type=float, help="the reader's confidence a span needs (default: shipped)")
    parser.add_argument(
        "--recheck-missing",
        action="store_true",
        help="with --cases: decide missing names anew (needs --keep-index)",
    )
    parser.add_argument(
        "--min-relevance", type=float, default=0.7, help="ask below the shipped relevance line, to see what it cuts"
    )
    parser.add_argument("--max-declined-answerable", type=float, default=0.08)
    parser.add_argument(
        "--calibrate", action="store_true", help="fit how the shipped weights' probability is shown (Calibration)"
    )
    args = parser.parse_args(argv)
    if args.cases and args.cases.exists():
        cases = [Case(**row) for row in json.loads(args.cases.read_text())]
        if args.recheck_missing:
            cases = recheck_missing(cases, args)
    else:
        cases = collect(args)
        if args.cases:
            args.cases.write_text(json.dumps([asdict(case) for case in cases]))
    if args.calibrate:
        calibrate(cases, args.dataset)
        return 0
    answered = [case for case in cases if case.signals is not None and not case.missing]
    print(f"{len(cases)} questions asked, {len(answered)} answered by the reader with no name missing")
    for fit_half in (0, 1):
        train = [c for c in answered if c.half == fit_half]
        weights = fit(train, args.regularisation)
        threshold = choose_threshold([c for c in cases if c.half == fit_half], weights, args.max_declined_answerable)
        weights = replace(weights, threshold=threshold)
        print(f"\nfitted on half {fit_half}: {weights}")
        describe(f"  half {fit_half} (fitted)", figures([c for c in cases if c.half == fit_half], weights))
        describe(f"  half {1 - fit_half} (held out)", figures([c for c in cases if c.half != fit_half], weights))
    weights = fit(answered, args.regularisation)
    weights = replace(weights, threshold=choose_threshold(cases, weights, args.max_declined_answerable))
    print(f"\nfitted on the whole set: {weights}")
    describe("  whole set", figures(cases, weights))
    describe("  shipped weights", figures(cases, SupportWeights()))
    for line in (0.70, 0.72, 0.74, 0.76, 0.78):
        describe(f"  shipped weights, relevance line {line:.2f}", figures(cases, SupportWeights(), line))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
