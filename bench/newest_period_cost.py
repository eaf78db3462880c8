"""What a current-state question's second search (among the newest period's chunks) costs.

A question read as asking for the current state ("Who leads the Ukrainian delegation?") also
searches the chunks of the newest ``TimeWeights.newest_period_days`` (see ``qa.retrieval``).
For each such question of ``bench/archive_scale.py`` this times, on an index built by it: how
many chunks the period holds, collecting their ids (once per index generation in the app), and
the filtered search over them, dense and BM25 halves apart, and the same BM25 search over every
chunk beside it. Median of three of each.

python bench/newest_period_cost.py /tmp/qa-scale-1m
"""

import argparse
import functools
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from archive_scale import QUESTIONS

from qa import Archive
from qa.timing import TimeRelation, newest_period


def milliseconds(call: Callable[[], object], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", type=Path)
    args = parser.parse_args()
    archive = Archive.open(args.index)
    archive.ask("warm-up", min_relevance=0.0)
    retriever, snapshot = archive._retriever, archive.store.snapshot()
    print(f"index: {snapshot.size:,} chunks ({snapshot.index_type})")
    for text in QUESTIONS:
        question = archive.analyse(text)
        if question.time_relation is not TimeRelation.CURRENT:
            continue
        period = newest_period(question.newest, retriever.weights.time)
        if period is None:
            continue
        where = replace(question.filter, since=period[0], until=period[1])
        collect = milliseconds(functools.partial(snapshot.filtered_chunk_ids, where), rounds=1)
        ids = snapshot.filtered_chunk_ids(where)
        limit = retriever.weights.time.newest_candidates
        fetch = max(limit, retriever.weights.candidates)
        both = milliseconds(functools.partial(retriever.rank, snapshot, question, limit, ids))
        dense = milliseconds(functools.partial(snapshot.search, question.vector, fetch, ids))
        lexical = milliseconds(functools.partial(snapshot.lexical_search, question.terms, fetch, ids))
        unfiltered = milliseconds(functools.partial(snapshot.lexical_search, question.terms, fetch))
        print(
            f"{text}: {len(ids):,} chunks in the newest period, ids collected in {collect:.0f} ms; "
            f"the search among them {both:.0f} ms (dense {dense:.0f}, BM25 {lexical:.0f}; "
            f"BM25 over every chunk {unfiltered:.0f})"
        )


if __name__ == "__main__":
    main()
