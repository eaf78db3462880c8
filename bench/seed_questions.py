"""The five seed questions of the models doc (and the follow-up): rank of the right chunk, the
short answer and the answer sentence, on the seed alone or with real news beside it.

python bench/seed_questions.py [--distractors ../shared/data/news_de.jsonl --limit 300] [--newest-for-current]
"""

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ingestion import sample_of

from qa import Archive
from qa.answering import ReadingChoice
from qa.question import RetrievalMode

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
QUESTIONS = [
    ("Who leads the Ukrainian delegation?", "Rustem Umjerow", ("Umjerow",)),
    ("Wer führt die Gespräche für die USA?", "Witkoff und Jared Kushner", ("Witkoff",)),
    ("Where will the Kremlin and US officials meet?", "in Miami ein Treffen", ("Miami",)),
    ("What did the EU present on the anniversary of the invasion?", "Jahrestag", ("Paket",)),
    ("Why did Trump drop the tariffs on India?", "Strafzölle", ("Fortschritte", "Öl")),
]
FOLLOW_UP = ("And who negotiates for Russia?", ("Dmitrijew",))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--distractors", type=Path, help="news articles (JSON Lines) imported beside the seed")
    parser.add_argument("--limit", type=int, default=300, help="how many of their first articles")
    parser.add_argument(
        "--newest-for-current",
        action="store_true",
        help="answer a current-state question with the newest supported answer (ReadingChoice.newest_for_current)",
    )
    parser.add_argument(
        "--keep-index", type=Path, help="build the index here and reuse it next time (only what changed is embedded)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        index = args.keep_index or Path(folder) / "index"
        archive = Archive.open(index, choice=ReadingChoice(newest_for_current=args.newest_for_current))
        paths = [SEEDS]
        if args.distractors:
            paths.append(sample_of(args.distractors, args.limit, Path(folder)))
        print(archive.import_paths(paths).summary())
        print("| question | right chunk: dense | bm25 | hybrid | short answer | right | answer sentence (hybrid) |")
        print("|---|---|---|---|---|---|---|")
        right = 0
        first = None
        for question, marker, expected in QUESTIONS:
            ranks = []
            for mode in RetrievalMode:
                ranked = archive._retriever.chunks(archive.analyse(question, mode=mode), 50)
                ranks.append(next((i for i, hit in enumerate(ranked, 1) if marker in hit.text), "—"))
            answer = archive.ask(question)
            first = first or answer
            correct = bool(answer.short) and any(word in answer.short for word in expected)
            right += correct
            print(
                f"| {question} | {' | '.join(map(str, ranks))} | {answer.short or '—'} | {'yes' if correct else 'no'} "
                f"| {answer.sentence} |"
            )
        follow_up, expected = FOLLOW_UP
        answer = archive.ask(follow_up, history=[first])
        correct = bool(answer.short) and any(word in answer.short for word in expected)
        print(
            f"| {follow_up} (after the first) | | | | {answer.short or '—'} | {'yes' if correct else 'no'} "
            f"| {answer.sentence} |"
        )
        print(f"\n{right} of {len(QUESTIONS)} seed questions with the right short answer; follow-up right: {correct}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
