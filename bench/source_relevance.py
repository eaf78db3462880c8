"""Which sources are worth showing: the similarity threshold a listed source must pass.

    python bench/source_relevance.py --xquad ../shared/data/xquad_en_de.dev.jsonl \\
        --distractors ../shared/data/news_de.jsonl --keep-index /tmp/qa-eval-index

Every dev question (English and German) is searched for its ``k`` sources as ``Archive.ask``
lists them, before any threshold. Each source is the question's own paragraph (relevant),
another paragraph of the same Wikipedia article (related), another article's paragraph, or a
news article (unrelated: the distractors are news of 2025-26, the questions about Wikipedia
subjects). For each threshold on a source's similarity to the question the script prints the
share of own paragraphs kept, of related ones kept and of news removed; the chosen threshold is
the highest that keeps at least ``--keep`` of the own paragraphs, chosen on one half of the
subjects and checked on the other. The same for a gap below the best source's similarity (a
source is listed when it is at most that much less similar than the best one): cross-lingual
similarities of one question run in a band of their own, so a gap separates better than one
threshold for all questions.
"""

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from dev_set import add_dev_set_arguments, dev_set_archive

from qa.evaluation import read_dataset

THRESHOLDS = np.round(np.arange(0.70, 0.90, 0.01), 2)
GAPS = np.round(np.arange(0.01, 0.11, 0.01), 2)


def highest_keeping(similarities: np.ndarray, share: float) -> float:
    return float(max(t for t in THRESHOLDS if (similarities >= t).mean() >= share))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dev_set_arguments(parser)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--keep", type=float, default=0.98, help="share of own paragraphs a threshold must keep")
    args = parser.parse_args()
    rows: list[tuple[str, str, float, float]] = []  # (subject, kind, similarity, the best source's)
    with dev_set_archive(args) as archive:
        paragraphs, _questions = read_dataset(args.xquad)
        subject_of = {record["id"]: record["title"] for record in paragraphs}
        for language in ("en", "de"):
            _paragraphs, questions = read_dataset(args.xquad, language)
            for item in questions:
                hits = archive.search(item.question, k=args.k)
                best = max((hit.similarity for hit in hits), default=0.0)
                for hit in hits:
                    if hit.article_id == item.paragraph_id:
                        kind = "own"
                    elif subject_of.get(hit.article_id) == item.subject:
                        kind = "related"
                    elif hit.article_id in subject_of:
                        kind = "other paragraph"
                    else:
                        kind = "news"
                    rows.append((item.subject, kind, hit.similarity, best))
    kinds = ("own", "related", "other paragraph", "news")
    counts = {kind: sum(r[1] == kind for r in rows) for kind in kinds}
    print("sources listed: " + ", ".join(f"{kind} {count}" for kind, count in counts.items()))
    print("| threshold | own kept | related kept | other paragraphs removed | news removed |\n|---|---|---|---|---|")
    values = {kind: np.array([r[2] for r in rows if r[1] == kind]) for kind in kinds}
    for threshold in THRESHOLDS:
        kept = {kind: (values[kind] >= threshold).mean() if len(values[kind]) else float("nan") for kind in kinds}
        print(
            f"| {threshold:.2f} | {kept['own']:.3f} | {kept['related']:.3f} | {1 - kept['other paragraph']:.3f} "
            f"| {1 - kept['news']:.3f} |"
        )
    print("\nrelative to the best source: listed when within GAP of its similarity")
    print("| gap | own kept | related kept | other paragraphs removed | news removed |\n|---|---|---|---|---|")
    gaps = {kind: np.array([r[3] - r[2] for r in rows if r[1] == kind]) for kind in kinds}
    for gap in GAPS:
        kept = {kind: (gaps[kind] <= gap).mean() if len(gaps[kind]) else float("nan") for kind in kinds}
        print(
            f"| {gap:.2f} | {kept['own']:.3f} | {kept['related']:.3f} | {1 - kept['other paragraph']:.3f} "
            f"| {1 - kept['news']:.3f} |"
        )
    subjects = sorted({r[0] for r in rows})
    halves = [set(subjects[::2]), set(subjects[1::2])]
    for number, (tune, check) in enumerate((halves, halves[::-1]), 1):
        own = np.array([r[2] for r in rows if r[1] == "own" and r[0] in tune])
        chosen = highest_keeping(own, args.keep)
        checked_own = np.array([r[2] for r in rows if r[1] == "own" and r[0] in check])
        checked_news = np.array([r[2] for r in rows if r[1] == "news" and r[0] in check])
        print(
            f"fold {number}: threshold {chosen:.2f} keeps {args.keep:.0%} of own paragraphs on one half; on the other "
            f"it keeps {(checked_own >= chosen).mean():.3f} of them and removes {(checked_news < chosen).mean():.3f} "
            "of the news"
        )
    print(f"on all: {highest_keeping(values['own'], args.keep):.2f}")
    for number, (tune, check) in enumerate((halves, halves[::-1]), 1):
        own = np.array([r[3] - r[2] for r in rows if r[1] == "own" and r[0] in tune])
        chosen = float(min(g for g in GAPS if (own <= g).mean() >= args.keep))
        checked_own = np.array([r[3] - r[2] for r in rows if r[1] == "own" and r[0] in check])
        checked_news = np.array([r[3] - r[2] for r in rows if r[1] == "news" and r[0] in check])
        print(
            f"fold {number}: gap {chosen:.2f} keeps {args.keep:.0%} of own paragraphs on one half; on the other "
            f"it keeps {(checked_own <= chosen).mean():.3f} of them and removes {(checked_news > chosen).mean():.3f} "
            "of the news"
        )


if __name__ == "__main__":
    main()
