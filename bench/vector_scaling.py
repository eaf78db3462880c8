"""FAISS index types by size: exact (IDMap2,Flat) against IVF with 8-bit codes, as qa builds them.

For each size: the time to build, the bytes it takes, search latency p50/p95 for one query
(the query embedding excluded), filtered search (one month of ~2% of the chunks), and the
recall@10 of the IVF index against the exact search.

Vectors stand in for chunk embeddings. ``clustered`` (the default) places them around real
embeddings, as news chunks cluster by story: two levels of Gaussian noise around the vectors
of an existing index (``--base``, any qa index), or around random centres when none is given.
``uniform`` draws random unit vectors, the worst case for IVF (no structure at all).

``--also hnsw ivf-pq`` adds two index types qa does not build, for the sizing of larger
archives: HNSW (32 links a node, efSearch 128) and IVF with product-quantised codes (48 bytes a
vector, 4% of the cells searched).

python bench/vector_scaling.py --sizes 10000 100000 1000000 --base /tmp/qa-eval-index
python bench/vector_scaling.py --sizes 1000000 --also hnsw ivf-pq --base /tmp/qa-eval-index
"""

import argparse
import os
import platform
import time
from pathlib import Path

import faiss
import numpy as np

from qa.vectors import VectorLayout, all_vectors, build, describe, search_parameters

DIM = 384


def unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def base_vectors(path: Path | None, rng: np.random.Generator) -> np.ndarray:
    if path is None:
        return unit(rng.normal(size=(2000, DIM)))
    index = faiss.read_index(str(next(path.glob("vectors-*.faiss"))))
    return all_vectors(index)[1]


def clustered(count: int, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stories around the base vectors (cosine ~0.9), chunks around stories (cosine ~0.95)."""
    stories = unit(
        base[rng.integers(len(base), size=max(1, count // 20))] + rng.normal(0, 0.025, (max(1, count // 20), DIM))
    )
    out = np.empty((count, DIM), dtype=np.float32)
    for start in range(0, count, 100_000):
        size = min(100_000, count - start)
        picked = stories[rng.integers(len(stories), size=size)]
        out[start : start + size] = unit(picked + rng.normal(0, 0.017, (size, DIM)))
    return out


def extra_index(kind: str, ids: np.ndarray, data: np.ndarray) -> faiss.Index:
    """HNSW or IVF-PQ over ``data`` (inner product), as a larger archive might hold its vectors."""
    if kind == "hnsw":
        index = faiss.index_factory(DIM, "IDMap2,HNSW32,Flat", faiss.METRIC_INNER_PRODUCT)
        faiss.downcast_index(index.index).hnsw.efSearch = 128
        index.add_with_ids(data, ids)
        return index
    cells = max(1, int(np.sqrt(len(data))))
    index = faiss.index_factory(DIM, f"IVF{cells},PQ48", faiss.METRIC_INNER_PRODUCT)
    sample = data[
        np.random.default_rng(3).choice(len(data), size=min(len(data), max(39 * cells, 10_000)), replace=False)
    ]
    index.train(sample)
    index.add_with_ids(data, ids)
    index.nprobe = max(1, cells // 25)
    return index


def timed_searches(
    index: faiss.Index, queries: np.ndarray, k: int, allowed: np.ndarray | None
) -> tuple[np.ndarray, list[float]]:
    params = search_parameters(index, allowed)
    results, times = [], []
    for query in queries:
        started = time.perf_counter()
        _scores, ids = index.search(query.reshape(1, -1), k, params=params)
        times.append((time.perf_counter() - started) * 1000)
        results.append(ids[0])
    return np.array(results), times


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--data", choices=["clustered", "uniform"], default="clustered")
    parser.add_argument("--base", type=Path, help="a qa index whose vectors the clustered data is drawn around")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--also", nargs="*", choices=["hnsw", "ivf-pq"], default=[], help="more index types")
    args = parser.parse_args()
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(7)
    base = base_vectors(args.base, rng)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"machine: {os.cpu_count()} cores, {memory:.0f} GiB, {platform.machine()}; faiss {faiss.__version__}")
    print(
        f"data: {args.data}" + (f" around the {len(base)} vectors of {args.base}" if args.data == "clustered" else "")
    )
    print("| chunks | index | build s | MB | search p50 ms | p95 ms | filtered p95 ms | recall@10 vs exact |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        data = clustered(size, base, rng) if args.data == "clustered" else unit(rng.normal(size=(size, DIM)))
        ids = np.arange(1, size + 1, dtype=np.int64)
        queries = (
            clustered(args.queries, base, rng)
            if args.data == "clustered"
            else unit(rng.normal(size=(args.queries, DIM)))
        )
        allowed = ids[rng.random(size) < 0.02]
        truth = None
        for layout in (VectorLayout.FLAT, VectorLayout.IVF_SQ8, *args.also):
            started = time.perf_counter()
            index = (
                build(layout, ids, data, DIM) if isinstance(layout, VectorLayout) else extra_index(layout, ids, data)
            )
            build_s = time.perf_counter() - started
            megabytes = faiss.serialize_index(index).nbytes / 2**20
            found, times = timed_searches(index, queries, 10, None)
            _filtered, filtered_times = (
                timed_searches(index, queries[:50], 10, allowed) if isinstance(layout, VectorLayout) else (None, [0.0])
            )
            if truth is None:
                truth = found
            p50, p95 = np.percentile(times, [50, 95])
            name = describe(index) if isinstance(layout, VectorLayout) else layout
            print(
                f"| {size:,} | {name} | {build_s:.1f} | {megabytes:,.0f} | {p50:.2f} | {p95:.2f} | "
                f"{np.percentile(filtered_times, 95):.2f} | {recall(found, truth):.3f} |",
                flush=True,
            )
            del index
        del data


if __name__ == "__main__":
    main()
