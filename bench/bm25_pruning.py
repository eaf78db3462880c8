"""How the pruned BM25 search of the embedded index compares with FTS5 ranking every match.

    python bench/bm25_pruning.py --index /tmp/qa-scale-1m --xquad ../shared/data/xquad_en_de.dev.jsonl

For every question (XQuAD's English and German questions, and the news questions of
``bench/archive_scale.py``), three rankings of the chunks' BM25 scores, the top 100 each:

- ``fts5 before``: FTS5's ``bm25()`` over every match of the question's terms with all their
  prefixes, as the index ranked before;
- ``fts5 narrowed``: the same over the terms the index now searches (a word's prefix left out
  where its whole terms occur);
- ``pruned``: ``StoreView.lexical_search``, which ranks only chunks holding a selective term.

It prints how often ``pruned`` gives exactly the scores of ``fts5 narrowed`` at each rank
(rank by rank; chunks of equal score may differ, as the archive holds copies), and the
latency of each. The difference between ``before`` and ``narrowed`` is a change of ranking;
its quality is what ``qa eval`` measures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from archive_scale import QUESTIONS

from qa import Archive
from qa.storage import view as view_module

TOP = 100
RANKED = (
    "SELECT rowid, -bm25(chunk_terms) FROM chunk_terms WHERE chunk_terms MATCH ? ORDER BY bm25(chunk_terms) LIMIT ?"
)


def questions(xquad: Path | None, limit: int) -> list[str]:
    found = list(QUESTIONS)
    if xquad:
        rows = [json.loads(line) for line in xquad.read_text(encoding="utf-8").splitlines() if line.strip()]
        found += [row["question_en"] for row in rows[:limit]] + [row["question_de"] for row in rows[:limit]]
    return found


def timed(call):
    started = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - started) * 1000


def same_scores(found: list[float], expected: list[float], k: int) -> bool:
    return len(found[:k]) == len(expected[:k]) and np.allclose(found[:k], expected[:k], rtol=1e-9, atol=1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", required=True)
    parser.add_argument("--xquad", type=Path)
    parser.add_argument("--limit", type=int, default=200, help="XQuAD questions per language")
    parser.add_argument("--json", type=Path)
    default = view_module.SELECTIVE_ROWS
    parser.add_argument("--selective-rows", type=int, help=f"chunks the selective phrases may hold ({default:,})")
    args = parser.parse_args()
    if args.selective_rows:
        view_module.SELECTIVE_ROWS = args.selective_rows
    archive = Archive.open(args.index)
    view = archive.store.snapshot()
    times: dict[str, list[float]] = {"fts5 before": [], "fts5 narrowed": [], "pruned": []}
    exact = {10: 0, TOP: 0}
    asked = questions(args.xquad, args.limit)
    for question in asked:
        query = archive.analyse(question, mode="bm25").terms
        if query.fts5() is None:
            continue
        before, narrowed = query.fts5(), view._narrowed(query).fts5()
        _rows, before_ms = timed(lambda before=before: view._query(RANKED, (before, TOP)))
        expected, narrowed_ms = timed(
            lambda narrowed=narrowed: view._query(RANKED, (narrowed, TOP)) if narrowed else []
        )
        found, pruned_ms = timed(lambda query=query: view.lexical_search(query, TOP))
        for name, ms in (("fts5 before", before_ms), ("fts5 narrowed", narrowed_ms), ("pruned", pruned_ms)):
            times[name].append(ms)
        for k in exact:
            exact[k] += same_scores([s for _i, s in found], [s for _i, s in expected], k)
    measured = len(times["pruned"])
    figures = {
        "index": args.index,
        "chunks": view.size,
        "selective_rows": view_module.SELECTIVE_ROWS,
        "questions": measured,
        "same_scores_top10": exact[10] / measured,
        "same_scores_top100": exact[TOP] / measured,
    }
    print(f"{view.size:,} chunks, {measured} questions; top {TOP} of each; selective {view_module.SELECTIVE_ROWS:,}")
    for name, values in times.items():
        p50, p95 = np.percentile(values, [50, 95])
        figures[f"{name} ms"] = [round(float(p50), 1), round(float(p95), 1)]
        print(f"{name:14} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   max {max(values):6.1f} ms")
    print(
        f"pruned gives FTS5's scores rank by rank: top 10 in {exact[10]}/{measured},"
        f" top {TOP} in {exact[TOP]}/{measured}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
