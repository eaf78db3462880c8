"""Choose chunk size and overlap by measurement: XQuAD paragraphs (German) asked in English,
plus the rank of the right chunk for the five seed questions.

    python bench/chunk_sweep.py --xquad ../shared/data/xquad_en_de.dev.jsonl

A question is found at k when its gold paragraph is among the first k distinct articles.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_questions import QUESTIONS, SEEDS

from qa import Archive
from qa.chunking import ChunkingConfig
from qa.records import stable_hash

CONFIGS = [(250, 50), (350, 70), (500, 100), (800, 150)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xquad", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.xquad.open(encoding="utf-8")]
    if args.limit:
        rows = rows[: args.limit]
    print("| chunk size / overlap | chunks | R@1 | R@5 | MRR@10 | seed ranks |")
    print("|---|---|---|---|---|---|")
    for size, overlap in CONFIGS:
        with tempfile.TemporaryDirectory() as folder:
            corpus = Path(folder) / "xquad.jsonl"
            with corpus.open("w", encoding="utf-8") as out:
                for context in dict.fromkeys((row["title"], row["context_de"]) for row in rows):
                    record = {
                        "id": "p" + stable_hash(context[1])[:12],
                        "title": context[0].replace("_", " "),
                        "body": context[1],
                    }
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
            archive = Archive.open(Path(folder) / "index", chunking=ChunkingConfig(size, overlap))
            archive.import_paths([corpus, SEEDS])
            found1 = found5 = reciprocal = 0.0
            for row in rows:
                gold = "p" + stable_hash(row["context_de"])[:12]
                ids = [hit.article_id for hit in archive.search(row["question_en"], k=10)]
                rank = ids.index(gold) + 1 if gold in ids else None
                found1 += rank == 1
                found5 += bool(rank and rank <= 5)
                reciprocal += 1 / rank if rank else 0
            seed_ranks = []
            for question, marker in QUESTIONS:
                ranked = [
                    h
                    for h in archive._retriever.chunks(archive.analyse(question), 200)
                    if h.article_id.startswith("000_") or h.is_teaser
                ]
                seed_ranks.append(next((i for i, h in enumerate(ranked, 1) if marker in h.text), None))
            n = len(rows)
            print(
                f"| {size} / {overlap} | {archive.stats().counts.chunks} | {found1 / n:.3f} | {found5 / n:.3f} "
                f"| {reciprocal / n:.3f} | {seed_ranks} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
