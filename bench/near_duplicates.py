"""Near-duplicate stories: how the MinHash threshold separates copies from distinct reports.

    python bench/near_duplicates.py --news ../shared/data/news_de.jsonl [--sample 30]

On real news: the fingerprint's cost per article, the candidate pairs LSH proposes at each
threshold, by outlet pair, and a random sample of the pairs at or above the shipped threshold
(``qa.stories.SAME_STORY``) with titles and openings, to be judged by hand. On made-up copies of
the same articles: how many of each kind of edit (one word changed, one sentence replaced, the
last paragraph cut, a new intro sentence) stay at or above each threshold.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from qa.stories import BANDS_FOR, SAME_STORY, fingerprint

THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.9)
SURVEY = 0.5
"""The survey of real pairs uses LSH bands for this lower threshold, to see what lies below the shipped one."""


def candidate_pairs(prints: dict) -> set[tuple[str, str]]:
    """The pairs that share a band key: what LSH proposes."""
    buckets: dict[tuple[int, int], list[str]] = defaultdict(list)
    for owner, print_ in prints.items():
        for band, key in enumerate(print_.bands):
            buckets[(band, key)].append(owner)
    return {pair for owners in buckets.values() for pair in itertools.combinations(sorted(owners), 2)}


def text_of(record: dict) -> str:
    return record.get("body") or ""


def edits(record: dict, rng: random.Random) -> dict[str, str]:
    paragraphs = [p for p in (record.get("body") or "").split("\n") if p.strip()]
    words = " ".join(paragraphs).split()
    one_word = list(words)
    if words:
        one_word[rng.randrange(len(words))] = "verändert"
    sentences = " ".join(paragraphs).split(". ")
    replaced = list(sentences)
    if sentences:
        replaced[rng.randrange(len(sentences))] = "Dieser Satz wurde von der Redaktion neu geschrieben und ist anders"
    return {
        "one word changed": " ".join(one_word),
        "one sentence replaced": ". ".join(replaced),
        "last paragraph cut": "\n".join(paragraphs[:-1]),
        "new intro sentence": "Das berichtet die Nachrichtenagentur dpa am Morgen.\n" + "\n".join(paragraphs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--news", type=Path, default=Path("../shared/data/news_de.jsonl"))
    parser.add_argument("--sample", type=int, default=30)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    records = [json.loads(line) for line in args.news.open(encoding="utf-8") if line.strip()]
    started = time.perf_counter()
    shipped = {r["id"]: fingerprint(text_of(r)) for r in records}
    per_article_ms = (time.perf_counter() - started) / len(records) * 1000
    shipped = {k: v for k, v in shipped.items() if v is not None}
    prints = {r["id"]: fingerprint(text_of(r), threshold=SURVEY) for r in records}
    prints = {k: v for k, v in prints.items() if v is not None}
    pairs = candidate_pairs(prints)
    scored = sorted(((prints[a].similarity(prints[b].signature), a, b) for a, b in pairs), reverse=True)
    found = candidate_pairs(shipped)
    wanted = {(a, b) for s, a, b in scored if s >= SAME_STORY}
    print(f"{len(records)} articles, {len(prints)} fingerprinted, {per_article_ms:.2f} ms per article (shipped bands)")
    print(f"{len(pairs)} candidate pairs from LSH with bands for {SURVEY}; of their {len(wanted)} pairs at or above")
    print(f"{SAME_STORY}, the shipped bands (for {BANDS_FOR}) propose {len(wanted & found)}\n")
    print("| threshold | pairs | articles in multi-copy stories | by outlet pair |\n|---|---:|---:|---|")
    by_threshold = {}
    for threshold in THRESHOLDS:
        above = [(a, b) for s, a, b in scored if s >= threshold]
        members = {owner for pair in above for owner in pair}
        outlets = Counter(f"{a.split('/')[0]}-{b.split('/')[0]}" for a, b in above).most_common(4)
        by_threshold[threshold] = {"pairs": len(above), "articles": len(members)}
        print(f"| {threshold} | {len(above)} | {len(members)} | {', '.join(f'{k} {v}' for k, v in outlets)} |")

    rng = random.Random(20261201)
    by_id = {r["id"]: r for r in records}
    above = [x for x in scored if x[0] >= SAME_STORY]
    below = [x for x in scored if 0.5 <= x[0] < SAME_STORY]
    sample = rng.sample(above, min(args.sample, len(above)))
    sample += rng.sample(below, min(args.sample - len(sample), len(below)))
    print(
        f"\n{len(sample)} random pairs, those at or above {SAME_STORY} first, then from 0.5 up to it, to judge by hand:"
    )
    for similarity, a, b in sample:
        print(f"- {similarity:.2f} {a} «{by_id[a]['title'][:70]}» | {b} «{by_id[b]['title'][:70]}»")
        print(f"    {(by_id[a].get('body') or '')[:110]!r}\n    {(by_id[b].get('body') or '')[:110]!r}")

    long_enough = [r for r in records if len((r.get("body") or "").split()) >= 150 and r["id"] in prints]
    tested = rng.sample(long_enough, min(300, len(long_enough)))
    kept: dict[str, list[float]] = defaultdict(list)
    for record in tested:
        original = prints[record["id"]]
        for kind, text in edits(record, rng).items():
            copy = fingerprint(text)
            kept[kind].append(original.similarity(copy.signature) if copy else 0.0)
    print(f"\nMade-up copies of {len(tested)} articles of 150 words or more: share at or above each threshold")
    print("| edit | " + " | ".join(str(t) for t in THRESHOLDS) + " | median similarity |")
    print("|---|" + "---:|" * (len(THRESHOLDS) + 1))
    recall = {}
    for kind, values in kept.items():
        shares = [float(np.mean([v >= t for v in values])) for t in THRESHOLDS]
        recall[kind] = dict(zip(map(str, THRESHOLDS), shares, strict=True))
        print(f"| {kind} | " + " | ".join(f"{s:.2f}" for s in shares) + f" | {np.median(values):.2f} |")
    if args.json:
        args.json.write_text(
            json.dumps({"per_article_ms": per_article_ms, "thresholds": by_threshold, "copies_kept": recall}, indent=2)
        )


if __name__ == "__main__":
    main()
