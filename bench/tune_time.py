"""Measure time-aware ranking and answer grouping on the news dev set, variant by variant.

Each variant (recency and burst weights, how many stories an answer's group counts, how many
passages are reranked and read) is run through ``qa eval --archive``'s measurement over an
archive imported once (``--keep-index``, as ``qa eval … --archive … --keep-index DIR`` builds
it), and summarised per form and language and on each half of the set's articles (a variant is
chosen on one half and checked on the other); first, how the questions are read for their relation
to time, against the set's ``time_dependent`` mark. Finished variants are kept in ``--out`` and not
run again, so an interrupted run resumes.

python bench/tune_time.py ../shared/data/newsqa_dev.jsonl --keep-index /tmp/newsqa-index --out /tmp/out/time \
    --variants today no-time burst-0.08 stories-1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections import Counter
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa import Archive
from qa.answering import ReadingChoice
from qa.archive_evaluation import FORMS, Outcome, evaluate_archive, read_archive_questions, summarise
from qa.dates import time_window
from qa.evaluation import LANGUAGES
from qa.retrieval import FusionWeights
from qa.timing import TimeRelation, TimeWeights, time_relation
from qa.words import Language

DEPENDENT = (TimeRelation.NAMED, TimeRelation.CURRENT)
TODAY = TimeWeights()
NO_TIME = TimeWeights(recency=0.0, burst=0.0, newest_candidates=0)
VARIANTS: dict[str, tuple[FusionWeights, ReadingChoice]] = {
    "today": (FusionWeights(), ReadingChoice()),
    "no-time": (FusionWeights(time=NO_TIME), ReadingChoice()),
    "no-burst": (FusionWeights(time=replace(TODAY, burst=0.0)), ReadingChoice()),
    "burst-0.04": (FusionWeights(time=replace(TODAY, burst=0.04)), ReadingChoice()),
    "burst-0.15": (FusionWeights(time=replace(TODAY, burst=0.15)), ReadingChoice()),
    "burst-30d": (FusionWeights(time=replace(TODAY, burst_days=30.0)), ReadingChoice()),
    "recency-0.2": (FusionWeights(time=replace(TODAY, recency=0.2)), ReadingChoice()),
    "stories-1": (FusionWeights(), ReadingChoice(story_weight=1.0)),
    "stories-3": (FusionWeights(), ReadingChoice(story_weight=3.0)),
    "stories-6": (FusionWeights(), ReadingChoice(story_weight=6.0)),
    "newest-for-current": (FusionWeights(), ReadingChoice(newest_for_current=True)),
    "rerank-10": (FusionWeights(reranked=10), ReadingChoice()),
    "read-5": (FusionWeights(), ReadingChoice(passages=5)),
    "read-6": (FusionWeights(), ReadingChoice(passages=6)),
    "read-6-stories-3": (FusionWeights(), ReadingChoice(passages=6, story_weight=3.0)),
    "support-1": (FusionWeights(), ReadingChoice(support_weight=1.0)),
    "support-3": (FusionWeights(), ReadingChoice(support_weight=3.0)),
    "support-10": (FusionWeights(), ReadingChoice(support_weight=10.0)),
    "support-30": (FusionWeights(), ReadingChoice(support_weight=30.0)),
    "lexical-0.1": (FusionWeights(lexical=0.1), ReadingChoice()),
    "coverage-0.03": (FusionWeights(coverage=0.03), ReadingChoice()),
    "coverage-0.06": (FusionWeights(coverage=0.06), ReadingChoice()),
    "coverage-0.1": (FusionWeights(coverage=0.1), ReadingChoice()),
    "coverage-0.2": (FusionWeights(coverage=0.2), ReadingChoice()),
    "coverage-0.3": (FusionWeights(coverage=0.3), ReadingChoice()),
    "coverage-0.2-depth-10": (FusionWeights(coverage=0.2, coverage_depth=10), ReadingChoice()),
    "lexical-0.35": (FusionWeights(lexical=0.35), ReadingChoice()),
}


def half_of(key: str) -> int:
    return hashlib.sha256(key.encode()).digest()[0] % 2


def halves(dataset: Path) -> dict[str, int]:
    return {item.qid: half_of(item.article_id or item.qid) for item in read_archive_questions(dataset)}


def summary(outcomes: list[Outcome], half: dict[str, int]) -> dict:
    rows = {}
    for form in FORMS:
        for language in LANGUAGES:
            selected = [o for o in outcomes if o.form == form and o.language == language]
            if selected:
                rows[f"{form}-{language}"] = asdict(summarise(selected, form, language))
    for which in (0, 1):
        selected = [o for o in outcomes if half[o.qid] == which]
        rows[f"half-{which}"] = asdict(summarise(selected, "all", "all"))
    return rows


def relation_table(dataset: Path, newest: datetime) -> None:
    """How the questions of each form and language are read against their ``time_dependent`` mark:
    a question marked so should read as naming a time or asking for the current state (its share
    read so is the recall); one not marked may name a time (a filter), but read as asking for the
    current state it is ranked by recency for nothing (its share read so is the false-current rate)."""
    order = " / ".join(relation.value for relation in TimeRelation)
    print(f"| form | lang | marked time-dependent: {order} | not marked: {order} | recall | false current |")
    print("|---|---|---|---|---|---|")
    for form in FORMS:
        for language in LANGUAGES:
            counts: Counter = Counter()
            for item in read_archive_questions(dataset, form, language):
                asked = Language.GERMAN if language == "de" else Language.ENGLISH
                relation = time_relation(item.text, asked, time_window(item.text, newest) is not None)
                counts[item.time_dependent, relation] += 1
            marked = sum(n for (dependent, _relation), n in counts.items() if dependent)
            found = sum(counts[True, relation] for relation in DEPENDENT)
            false_current = counts[False, TimeRelation.CURRENT] / (sum(counts.values()) - marked)
            cells = [" / ".join(str(counts[flag, relation]) for relation in TimeRelation) for flag in (True, False)]
            print(f"| {form} | {language} | {cells[0]} | {cells[1]} | {found / marked:.3f} | {false_current:.3f} |")


def line(name: str, key: str, row: dict) -> str:
    return (
        f"| {name} | {key} | {row['recall_at_1']:.3f} | {row['right_source']:.3f} | {100 * row['short_f1']:.1f} "
        f"| {row['answers_right'] or 0:.3f} | {row['declined_answerable']:.3f} | {row['declined_near_miss'] or 0:.3f} "
        f"| {row['ask_p95_ms']:.0f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--keep-index", required=True, help="the archive imported by qa eval --keep-index")
    parser.add_argument("--out", type=Path, required=True, help="a folder for each variant's figures")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--forms", nargs="+", default=list(FORMS), choices=list(FORMS))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    newest = Archive.open(args.keep_index, short_answers=False).analyse("?").newest or datetime.now()
    relation_table(args.dataset, newest)
    half = halves(args.dataset)
    print("| variant | slice | R@1 | right source | short F1 | answers right | declined answerable | near miss | p95 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.variants:
        done = args.out / f"{name}.json"
        if not done.exists():
            fusion, choice = VARIANTS[name]
            archive = Archive.open(args.keep_index, fusion=fusion, choice=choice)
            _scores, outcomes = evaluate_archive(archive, args.dataset, args.forms, LANGUAGES)
            done.write_text(json.dumps(summary(outcomes, half), indent=1), encoding="utf-8")
        for key, row in json.loads(done.read_text(encoding="utf-8")).items():
            print(line(name, key, row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
