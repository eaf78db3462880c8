"""The FAISS side of the index: which kind of FAISS index holds the vectors, chosen by size.

Below :data:`EXACT_SEARCH_LIMIT` vectors an exact inner-product search (``IDMap2,Flat``)
is fast enough; above it, a flat scan of every vector is not, and the vectors move into an
inverted file with 8-bit scalar-quantised codes (``IVF,SQ8``), which searches a few of its
cells and keeps a quarter of the memory. Both are addressed by chunk id, support removal
and ``reconstruct``, and take an id selector for date and tag filters.

The limit and the number of cells searched are measured by ``bench/vector_scaling.py``.
"""

from __future__ import annotations

import math
from enum import StrEnum

import faiss
import numpy as np

EXACT_SEARCH_LIMIT = 100_000
"""Above this many vectors, ``auto`` indexes switch from an exact to an IVF index.

Exact search over 100k vectors takes 17-23 ms (p95) on 2 cores, over 1M 225 ms; IVF over
1M takes 9 ms at recall@10 0.97 of exact (``bench/RESULTS.md``)."""
IVF_PROBE_FRACTION = 0.04
"""Share of the IVF cells searched per query; at 1M vectors it keeps recall@10 >= 0.95."""
IVF_TRAINING_POINTS_PER_CELL = 64


class VectorLayout(StrEnum):
    AUTO = "auto"
    FLAT = "flat"
    IVF_SQ8 = "ivf-sq8"


FAISS_DESCRIPTION = {VectorLayout.FLAT: "IDMap2,Flat(IP)", VectorLayout.IVF_SQ8: "IVF{cells},SQ8(IP)"}


def new_flat(dimension: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def layout_of(index: faiss.Index) -> VectorLayout:
    return VectorLayout.IVF_SQ8 if isinstance(index, faiss.IndexIVF) else VectorLayout.FLAT


def describe(index: faiss.Index) -> str:
    if isinstance(index, faiss.IndexIVF):
        return FAISS_DESCRIPTION[VectorLayout.IVF_SQ8].format(cells=index.nlist)
    return FAISS_DESCRIPTION[VectorLayout.FLAT]


def wanted_layout(choice: VectorLayout, count: int, current: VectorLayout) -> VectorLayout:
    """The layout an index of ``count`` vectors should have under ``choice``.

    Under ``auto`` an IVF index goes back to exact search only below half the limit, so a
    size near the limit does not flip the type back and forth.
    """
    if choice is not VectorLayout.AUTO:
        return choice
    if current is VectorLayout.IVF_SQ8:
        return VectorLayout.FLAT if count < EXACT_SEARCH_LIMIT // 2 else VectorLayout.IVF_SQ8
    return VectorLayout.IVF_SQ8 if count > EXACT_SEARCH_LIMIT else VectorLayout.FLAT


def vector_ids(index: faiss.Index) -> np.ndarray:
    """Every chunk id that has a vector in ``index``."""
    if isinstance(index, faiss.IndexIVF):
        invlists = index.invlists
        parts = [
            faiss.rev_swig_ptr(invlists.get_ids(cell), invlists.list_size(cell)).copy()
            for cell in range(index.nlist)
            if invlists.list_size(cell)
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return faiss.vector_to_array(index.id_map)


def all_vectors(index: faiss.Index) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, vectors)`` of every vector; decoded from their codes for an IVF index."""
    ids = vector_ids(index)
    if len(ids) == 0:
        return ids, np.zeros((0, index.d), dtype=np.float32)
    if isinstance(index, faiss.IndexIVF):
        vectors = np.vstack([index.reconstruct(int(i)) for i in ids])
    else:
        vectors = index.index.reconstruct_n(0, index.ntotal)
    return ids, np.ascontiguousarray(vectors, dtype=np.float32)


def build(layout: VectorLayout, ids: np.ndarray, vectors: np.ndarray, dimension: int) -> faiss.Index:
    """A new index of ``layout`` holding ``vectors`` under ``ids`` (an IVF index is trained on them)."""
    if layout is VectorLayout.FLAT or len(ids) == 0:
        index = new_flat(dimension)
    else:
        cells = max(1, min(4096, int(math.sqrt(len(ids)))))
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dimension, cells, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        index.cp.seed = 1234
        rng = np.random.default_rng(1234)
        sample = min(len(ids), cells * IVF_TRAINING_POINTS_PER_CELL)
        index.train(vectors[np.sort(rng.choice(len(ids), sample, replace=False))])
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
    if len(ids):
        index.add_with_ids(vectors, ids.astype(np.int64))
    return index


def id_selector(ids: np.ndarray) -> faiss.IDSelector:
    """A selector of ``ids`` as a bitmap, one bit per id up to the largest.

    A filtered search asks the selector about every code it visits: a bit costs next to
    nothing where ``IDSelectorBatch`` hashes the id, and the bitmap is built in one numpy
    pass where ``IDSelectorBatch`` inserts every id into a hash set. With the newest 90 days
    of a 1M-chunk archive allowed (164k ids) that was most of a filtered search's time
    (``bench/newest_period_cost.py``)."""
    if len(ids) == 0:
        return faiss.IDSelectorBitmap(np.zeros(1, dtype=np.uint8))
    bits = np.zeros(int(ids.max()) + 1, dtype=bool)
    bits[ids] = True
    return faiss.IDSelectorBitmap(np.packbits(bits, bitorder="little"))


def search_parameters(
    index: faiss.Index, allowed: np.ndarray | None, hidden: np.ndarray | None = None
) -> faiss.SearchParameters | None:
    """How to search ``index``, among the ``allowed`` ids only when given, never among ``hidden``.

    A filtered IVF search visits every cell: the allowed chunks (one month, one tag) may
    lie in none of the cells nearest the question, and skipping a code that is not allowed
    costs little next to scoring it. Hidden ids (a few embargoed stories) leave the cells
    searched as they are.
    """
    selector = id_selector(allowed) if allowed is not None else None
    if hidden is not None and len(hidden):
        visible = faiss.IDSelectorNot(faiss.IDSelectorBatch(hidden.astype(np.int64)))
        selector_all = faiss.IDSelectorAnd(selector, visible) if selector is not None else visible
    else:
        selector_all = selector
    if isinstance(index, faiss.IndexIVF):
        probes = max(min(index.nlist, 8), math.ceil(index.nlist * IVF_PROBE_FRACTION))
        return faiss.SearchParametersIVF(sel=selector_all, nprobe=index.nlist if selector is not None else probes)
    return faiss.SearchParameters(sel=selector_all) if selector_all is not None else None
