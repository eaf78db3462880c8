"""Filtered vector search with real FAISS: the allowed ids as a bitmap, and id membership."""

import numpy as np
import pytest

from qa.storage.view import members
from qa.vectors import VectorLayout, build, id_selector, search_parameters

DIM = 16


def unit_rows(rng: np.random.Generator, count: int) -> np.ndarray:
    rows = rng.normal(size=(count, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.mark.parametrize("layout", [VectorLayout.FLAT, VectorLayout.IVF_SQ8])
def test_a_filtered_search_finds_the_best_allowed_ids_and_no_hidden_one(layout):
    rng = np.random.default_rng(7)
    ids = np.arange(5, 3005, 3, dtype=np.int64)
    vectors = unit_rows(rng, len(ids))
    index = build(layout, ids, vectors, DIM)
    allowed = np.sort(rng.choice(ids, 150, replace=False))
    hidden = allowed[::10]
    query = unit_rows(rng, 1)
    scores, found = index.search(query, 10, params=search_parameters(index, allowed, hidden))
    wanted = np.setdiff1d(allowed, hidden)
    position = {int(i): n for n, i in enumerate(ids)}
    exact = sorted(wanted, key=lambda i: -float(vectors[position[int(i)]] @ query[0]))[:10]
    assert set(found[0].tolist()) <= set(wanted.tolist())
    tolerance = 0.0 if layout is VectorLayout.FLAT else 0.05
    best = [float(vectors[position[int(i)]] @ query[0]) for i in exact]
    assert np.allclose(sorted(scores[0], reverse=True), best, atol=tolerance + 1e-6)


def test_a_bitmap_selector_holds_exactly_its_ids():
    ids = np.array([0, 7, 8, 63, 64, 1000], dtype=np.int64)
    selector = id_selector(ids)
    probe = range(0, 1100)
    assert [i for i in probe if selector.is_member(i)] == ids.tolist()
    assert not id_selector(np.zeros(0, dtype=np.int64)).is_member(0)


def test_membership_in_a_sorted_array_of_ids():
    among = np.array([2, 5, 9, 40], dtype=np.int64)
    ids = np.array([40, 1, 2, 41, 9, 6, 0], dtype=np.int64)
    assert members(ids, among).tolist() == [True, False, True, False, True, False, False]
    assert members(ids, np.zeros(0, dtype=np.int64)).tolist() == [False] * len(ids)
