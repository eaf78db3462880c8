"""Near-duplicate stories: copies of one text (a wire report republished by several outlets, a
page scraped twice) found at import and linked as one story. The body is compared, not the
headline, which republishers rewrite first.

An article's text is cut into word shingles, and ``datasketch``'s MinHash estimates the Jaccard
similarity of two articles' shingle sets. Candidates come from locality-sensitive hashing: the
signature is cut into the bands that ``datasketch.MinHashLSH`` chooses for the threshold, and
each band's key is stored in SQLite beside the article, so finding an article's copies is one
indexed lookup per band, not a pass over the archive, and the keys are written, published and
rolled back with the generation they belong to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from datasketch import MinHash, MinHashLSH

from qa.words import word_parts

PERMUTATIONS = 128
SHINGLE_WORDS = 5
SAME_STORY = 0.8
"""The estimated Jaccard similarity of two articles' 5-word shingles from which they are one
story. Measured by bench/near_duplicates.py on news_de.jsonl: made-up copies with one word
changed, a new intro sentence or one sentence replaced stay above it (100 %, 100 %, 97 %), copies
with the last paragraph cut mostly (81 %); below it, from 0.5 to 0.75, stand pairs of distinct
articles that share a site's boilerplate (paywall stubs with the same comment-section text)."""
BANDS_FOR = 0.7
"""LSH's bands are chosen for this lower similarity, so that a pair just at :data:`SAME_STORY`
is proposed almost always (bands chosen for the threshold itself find such a pair half the
time); the signatures then decide."""
_SEED = 20261201


@dataclass(frozen=True)
class Fingerprint:
    """An article's MinHash signature and its LSH band keys."""

    signature: np.ndarray
    bands: tuple[int, ...]

    def similarity(self, other: np.ndarray) -> float:
        """Estimated Jaccard similarity of the two articles' shingle sets."""
        return float(np.mean(self.signature == other))

    def to_bytes(self) -> bytes:
        return self.signature.astype(np.uint64).tobytes()


def signature_from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint64)


@cache
def _bands(threshold: float, permutations: int) -> tuple[tuple[int, int], ...]:
    return tuple(MinHashLSH(threshold=threshold, num_perm=permutations).hashranges)


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[bytes]:
    words = [w.lower() for w in word_parts(text)]
    if len(words) <= size:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {" ".join(words[i : i + size]).encode("utf-8") for i in range(len(words) - size + 1)}


def fingerprint(text: str, threshold: float = BANDS_FOR, permutations: int = PERMUTATIONS) -> Fingerprint | None:
    """The fingerprint of ``text``; None for a text too short to tell copies from chance."""
    pieces = shingles(text)
    if len(pieces) < SHINGLE_WORDS:
        return None
    minhash = MinHash(num_perm=permutations, seed=_SEED)
    minhash.update_batch(pieces)
    signature = np.asarray(minhash.hashvalues, dtype=np.uint64)
    keys = tuple(
        int.from_bytes(
            hashlib.blake2b(signature[start:end].tobytes(), digest_size=8, person=bytes([band]) * 16).digest(),
            "big",
            signed=True,
        )
        for band, (start, end) in enumerate(_bands(threshold, permutations))
    )
    return Fingerprint(signature, keys)


def best_copy(
    fingerprint: Fingerprint, candidates: Sequence[tuple[str, bytes]], threshold: float = SAME_STORY
) -> str | None:
    """The id of the candidate (id, signature) most similar to ``fingerprint`` at or above ``threshold``."""
    scored = [(fingerprint.similarity(signature_from_bytes(data)), owner) for owner, data in candidates]
    scored = [pair for pair in scored if pair[0] >= threshold]
    return max(scored)[1] if scored else None
