"""Why an answerable question of an archive-style set is not answered from its own story.

For each answerable question in one form and language, asks the archive and records the
passages the reader read, the answer groups it weighed (``qa.gathering``) and the one chosen,
then sorts every question into: answered from its story; declined; its story not among the
passages read (answered right from another report, or wrong); its story read but another answer
chosen (right or wrong); its answer chosen but credited to another report of the same group.

python bench/missed_sources.py ../shared/data/newsqa_dev.jsonl --index /tmp/newsqa-index \\
    --form short --lang en --show read-another-answer/wrong
"""

import argparse
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa import Archive
from qa.answering import AnswerFinder
from qa.archive_evaluation import RIGHT_F1, gold_story, read_archive_questions
from qa.evaluation import token_f1
from qa.gathering import AnswerGroup, Option
from qa.question import Question
from qa.records import Answer, Hit


def recording(finder: AnswerFinder, seen: dict[str, Any]) -> None:
    """Wrap ``finder`` so that each question's passages and answer groups land in ``seen``."""
    answer, short_answer = finder.answer, finder.short_answer

    def answer_recorded(
        question: Question, passages: Sequence[Hit], sources: Sequence[Hit], full_text: Callable[[Hit], str], *args: Any
    ) -> Answer:
        seen["passages"] = [(hit.article_id, round(hit.score, 3), str(hit.published)[:10]) for hit in passages]
        return answer(question, passages, sources, full_text, *args)

    def short_answer_recorded(
        question: Question,
        groups: Sequence[AnswerGroup],
        supported: Callable[[Option], bool],
        probability: Callable[[Option], float] | None = None,
    ) -> Option | None:
        seen["groups"] = [
            {
                "answer": group.best.reading.text,
                "weight": round(group.best.weight, 2),
                "probability": round(probability(group.best), 2) if probability else None,
                "articles": [option.hit.article_id for option in group.options],
            }
            for group in groups
        ]
        return short_answer(question, groups, supported, probability)

    finder.answer, finder.short_answer = answer_recorded, short_answer_recorded


def category(row: dict[str, Any], read: int) -> str:
    gold = set(row["gold"])
    if row["right_source"]:
        return "from-its-story"
    if row["short"] is None:
        return "declined"
    outcome = "/right" if row["right"] else "/wrong"
    if not any(article in gold for article, _score, _date in row["passages"][:read]):
        return "story-not-read" + outcome
    chosen = next((group for group in row["groups"] if row["source"] in group["articles"]), None)
    if chosen and gold & set(chosen["articles"]):
        return "credited-to-another-report"
    return "read-another-answer" + outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--index", type=Path, required=True, help="the archive, imported (qa eval --keep-index)")
    parser.add_argument("--form", default="short")
    parser.add_argument("--lang", default="en")
    parser.add_argument("--show", help="print the questions of this category")
    parser.add_argument("--json", type=Path, help="write every question's record here")
    args = parser.parse_args()
    archive = Archive.open(args.index)
    seen: dict[str, Any] = {}
    recording(archive._answers, seen)
    rows = []
    for item in read_archive_questions(args.dataset, args.form, args.lang):
        if not item.answerable:
            continue
        seen.clear()
        gold = gold_story(archive, item.article_id)
        answer = archive.ask(item.text)
        source = answer.source.article_id if answer.source else None
        row = {
            "qid": item.qid,
            "question": item.text,
            "gold": sorted(gold),
            "answers": list(item.answers),
            "short": answer.short,
            "source": source,
            "right": bool(answer.short) and token_f1(answer.short, item.answers) >= RIGHT_F1,
            "right_source": source in gold,
            "passages": seen.get("passages", []),
            "groups": seen.get("groups", []),
        }
        row["category"] = category(row, archive._answers.choice.passages)
        rows.append(row)
    for name, count in sorted(Counter(row["category"] for row in rows).items()):
        print(f"{name}: {count}")
    for row in rows:
        if row["category"] == args.show:
            print(f"\n{row['qid']} {row['question']} | gold {row['answers'][:2]} | got {row['short']}")
            print("  passages:", row["passages"][:6])
            for group in row["groups"][:4]:
                print("  group:", group)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
