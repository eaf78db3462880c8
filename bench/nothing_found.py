"""Measure the "nothing relevant found" threshold.

    python bench/nothing_found.py --xquad ../shared/data/xquad_en_de.dev.jsonl \
        --distractors ../shared/data/news_de.jsonl --distractor-articles 350

XQuAD's Wikipedia articles are split in two by title: the paragraphs of one half are
indexed (with news articles as distractors), the other half is left out. A question
about an indexed article has its answer in the archive; a question about a left-out
article does not (no paragraph on its subject is there). Both are asked, in English and
German; for each candidate threshold on the best passage's similarity the script prints
how many answerable questions are still answered and how many unanswerable ones are
refused, and the threshold that maximises the mean of the two (balanced accuracy). The
signal is the similarity of the best passage, the one ``Archive.ask`` compares with
``MIN_RELEVANCE``.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa import Archive
from qa.records import stable_hash


def write_corpus(rows: list[dict], titles: set[str], distractors: Path | None, count: int, out: Path) -> None:
    with out.open("w", encoding="utf-8") as corpus:
        paragraphs = dict.fromkeys((row["title"], row["context_de"]) for row in rows if row["title"] in titles)
        for title, context in paragraphs:
            record = {"id": "p" + stable_hash(context)[:12], "title": title.replace("_", " "), "body": context}
            corpus.write(json.dumps(record, ensure_ascii=False) + "\n")
        if distractors:
            with distractors.open(encoding="utf-8") as news:
                for number, line in enumerate(news):
                    if number >= count:
                        break
                    corpus.write(line)


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that an answerable question outscores an unanswerable one."""
    greater = (positive[:, None] > negative[None, :]).mean()
    ties = (positive[:, None] == negative[None, :]).mean()
    return float(greater + ties / 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xquad", type=Path, required=True)
    parser.add_argument("--distractors", type=Path, help="a news JSON Lines file")
    parser.add_argument("--distractor-articles", type=int, default=150)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.xquad.open(encoding="utf-8")]
    titles = sorted({row["title"] for row in rows})
    indexed = set(titles[::2])
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus.jsonl"
        write_corpus(rows, indexed, args.distractors, args.distractor_articles, corpus)
        archive = Archive.open(Path(folder) / "index")
        report = archive.import_paths([corpus])
        print(report.summary())
        signals: dict[str, dict[bool, list[float]]] = {"best passage": {True: [], False: []}}
        for row in rows:
            answerable = row["title"] in indexed
            for question in (row["question_en"], row["question_de"]):
                signals["best passage"][answerable].append(archive.search(question, k=1)[0].score)
    print(f"\n{len(signals['best passage'][True])} answerable, {len(signals['best passage'][False])} unanswerable")
    results: dict[str, dict] = {}
    for name, values in signals.items():
        positive, negative = np.array(values[True]), np.array(values[False])
        best = (0.0, 0.0, 0.0, 0.0)
        print(f"\n{name}: ROC AUC {roc_auc(positive, negative):.3f}")
        print("| threshold | answerable answered | unanswerable refused | balanced |")
        print("|---|---|---|---|")
        for threshold in np.round(np.arange(0.70, 0.95, 0.005), 3):
            kept = float((positive >= threshold).mean())
            refused = float((negative < threshold).mean())
            balanced = (kept + refused) / 2
            if balanced > best[3]:
                best = (float(threshold), kept, refused, balanced)
            if round(threshold * 1000) % 10 == 0:
                print(f"| {threshold:.3f} | {kept:.3f} | {refused:.3f} | {balanced:.3f} |")
        print(f"best threshold {best[0]:.3f}: answered {best[1]:.3f}, refused {best[2]:.3f}")
        results[name] = {
            "auc": roc_auc(positive, negative),
            "threshold": best[0],
            "answerable_answered": best[1],
            "unanswerable_refused": best[2],
        }
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
