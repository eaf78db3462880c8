"""What copies of a story do to the top 5, with and without collapsing them.

    python bench/copies_in_top_k.py --xquad ../shared/data/xquad_en_de.dev.jsonl \\
        --distractors ../shared/data/news_de.jsonl [--limit 2000] [--keep-index DIR]

Every gold paragraph of the dev set is imported twice: as it is, and as a reprint with one word
of one sentence changed (as a republisher edits a wire report), under another id and outlet.
For each question, the top 5 of ``search`` with copies collapsed (the default) and listed
(``collapse=False``): how many distinct stories they hold, how often a story fills two places,
and recall@1/@5 of the story (the gold paragraph or its reprint).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

from qa import Archive
from qa.evaluation import distractor_records, read_dataset

REPRINT = "-reprint"


def reprint(body: str, rng: random.Random) -> str:
    """``body`` with one word of one sentence changed."""
    sentences = body.split(". ")
    chosen = rng.randrange(len(sentences))
    words = sentences[chosen].split()
    words[rng.randrange(len(words))] = "nachgedruckt"
    sentences[chosen] = " ".join(words)
    return ". ".join(sentences)


def story_of(article_id: str) -> str:
    return article_id.removesuffix(REPRINT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xquad", type=Path, required=True)
    parser.add_argument("--distractors", type=Path)
    parser.add_argument("--limit", type=int, default=2000, help="distractor chunks")
    parser.add_argument("--keep-index", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = random.Random(20261201)
    paragraphs, _ = read_dataset(args.xquad)
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "corpus.jsonl"
        with corpus.open("w", encoding="utf-8") as out:
            for record in paragraphs:
                out.write(json.dumps({**record, "source": "dpa"}, ensure_ascii=False) + "\n")
                copy = {
                    **record,
                    "id": record["id"] + REPRINT,
                    "body": reprint(record["body"], rng),
                    "source": "reprint",
                }
                out.write(json.dumps(copy, ensure_ascii=False) + "\n")
            if args.distractors:
                out.writelines(distractor_records(args.distractors, args.limit))
        archive = Archive.open(args.keep_index or Path(scratch) / "index", short_answers=False)
        print(archive.import_paths([corpus]).summary())
        figures = {}
        print(
            "| questions in | top 5 | distinct stories (mean) | questions with a story twice | story R@1 | story R@5 |"
        )
        print("|---|---|---:|---:|---:|---:|")
        for language in ("en", "de"):
            _, questions = read_dataset(args.xquad, language)
            for collapse in (True, False):
                distinct = twice = first = five = 0
                for item in questions:
                    stories = [story_of(h.article_id) for h in archive.search(item.question, k=5, collapse=collapse)]
                    distinct += len(set(stories))
                    twice += len(set(stories)) < len(stories)
                    first += bool(stories) and stories[0] == item.paragraph_id
                    five += item.paragraph_id in stories
                n = len(questions)
                label = "copies collapsed" if collapse else "every copy listed"
                row = [distinct / n, twice / n, first / n, five / n]
                figures[f"{language} {label}"] = row
                print(f"| {language} | {label} | {row[0]:.2f} | {row[1]:.3f} | {row[2]:.3f} | {row[3]:.3f} |")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
