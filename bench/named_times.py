"""How a time the question names is applied, measured on the questions that name one.

For each variant (days after a named month whose reports are searched too, and the lift for the
passages of the named time), every question of an archive set that names a month (or a year on
its own, with ``--years``) is asked over an archive imported by ``qa eval … --keep-index``; the
answerable ones' gold story first, right source and short-answer F1 are summed over both forms
and languages. Only these questions are moved by the variants, so the rest of the set is not asked.

    python bench/named_times.py ../shared/data/newsqa_dev.jsonl --keep-index /tmp/newsqa-index \\
        --variants 0:0.03 92:0.03 92:0.15 45:0.15 92:0.3
    python bench/named_times.py ../shared/data/newsqa_dev.jsonl --keep-index /tmp/newsqa-index --years \\
        --variants 92:0.03 92:0.1 92:0.3
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import qa.dates
import qa.retrieval
from qa import Archive
from qa.archive_evaluation import FORMS, ArchiveQuestion, ask_question, read_archive_questions
from qa.dates import time_window
from qa.evaluation import LANGUAGES


def naming_a_time(dataset: Path, archive: Archive, years: bool) -> list[ArchiveQuestion]:
    """The questions that name a month (a window that restricts), or with ``years`` a year on its own."""
    newest = archive.analyse("?").newest
    chosen = []
    for form in FORMS:
        for language in LANGUAGES:
            for item in read_archive_questions(dataset, form, language):
                window = time_window(item.text, newest)
                if window and (not window.restrict if years else window.reported_days > 0):
                    chosen.append(item)
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--keep-index", required=True, help="the archive imported by qa eval --keep-index")
    parser.add_argument("--years", action="store_true", help="the questions naming a year, not a month")
    parser.add_argument("--variants", nargs="+", default=["0:0.03", "92:0.3"], help="DAYS:LIFT")
    args = parser.parse_args()
    archive = Archive.open(args.keep_index)
    items = naming_a_time(args.dataset, archive, args.years)
    answerable = sum(item.answerable for item in items)
    print(f"{len(items)} questions name a {'year' if args.years else 'month'}, {answerable} answerable")
    print("| days after the month | lift | gold story first | right source | F1 summed | answers given | right |")
    print("|---|---|---|---|---|---|---|")
    for variant in args.variants:
        days, lift = variant.split(":")
        qa.dates.MONTH_REPORTED_DAYS = int(days)
        qa.retrieval.PREFERRED_TIME_BONUS = float(lift)
        outcomes = [ask_question(archive, item) for item in items]
        asked = [o for o in outcomes if o.answerable]
        given = [o for o in outcomes if o.short]
        print(
            f"| {days} | {lift} | {sum(o.story_rank == 1 for o in asked)} | {sum(o.right_source for o in asked)} "
            f"| {sum(o.f1 for o in asked):.1f} | {len(given)} | {sum(o.answerable and o.f1 >= 0.5 for o in given)} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
