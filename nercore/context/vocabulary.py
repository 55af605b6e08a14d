"""Words looked up in the trigger vocabulary by their code points (array operations, exact).

The context engine needs, for every word of a chunk, its index in the trigger rules' vocabulary.
Slicing each word out of the text as a ``str`` to look it up in a ``dict`` cost more than the rest
of the word split (one Python object per word). ``SpelledVocabulary`` instead hashes the code
points of every word no longer than the longest vocabulary word (wrapping 64-bit arithmetic, a
column of all words at a time), finds the hash among the vocabulary's sorted hashes, and for the
words that hit compares the code points themselves, so that a collision can never make a false
match.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

_MULTIPLIER = np.uint64(0x100000001B3)  # FNV's 64-bit prime: odd, so a word's positions hash differently


class SpelledVocabulary:
    """The spelled words of a vocabulary (``word → index``) as a code-point grid.

    Words that are not spelled out (the ``<num>`` and ``<year>`` placeholders, or the empty word)
    are left out; the caller gives numbers their placeholder's index.

    Raises:
        ValueError: if two vocabulary words share a hash (then no lookup could tell them apart).
    """

    def __init__(self, vocabulary: Mapping[str, int]):
        spelled = sorted((w, i) for w, i in vocabulary.items() if w and w not in ("<num>", "<year>"))
        self.width = max((len(w) for w, _ in spelled), default=0)
        # The words laid end to end, hashed and gridded as ``lookup`` does a text's words.
        codes = np.array([ord(c) for w, _ in spelled for c in w], dtype=np.uint32)
        lengths = np.array([len(w) for w, _ in spelled], dtype=np.int64)
        starts = np.cumsum(lengths) - lengths
        keys = _span_hashes(codes, starts, lengths, self.width)
        grid = _grid(codes, starts, lengths, self.width)
        if np.unique(keys).size != keys.size:
            raise ValueError(f"expected distinct hashes of the {len(spelled)} vocabulary words, got a collision")
        order = np.argsort(keys)
        self._keys, self._grid, self._lengths = keys[order], grid[order], lengths[order]
        self._ids = np.array([i for _, i in spelled], dtype=np.int64)[order]

    def lookup(self, codes: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """The vocabulary index of each word ``codes[start[i]:end[i]]``, -1 for a word not in it.

        Args:
            codes: the code points of the text the words are in (as the vocabulary spells them:
                lower-cased); shape (chars,).
            start, end: each word's span; shape (words,).
        """
        # shape: codes (chars,); start, end (words,) → (words,) int64
        ids = np.full(start.size, -1, dtype=np.int64)
        lengths = end - start
        candidate = np.flatnonzero((lengths > 0) & (lengths <= self.width))
        if candidate.size == 0 or self._keys.size == 0:
            return ids
        keys = _span_hashes(codes, start[candidate], lengths[candidate], self.width)
        slot = np.minimum(np.searchsorted(self._keys, keys), self._keys.size - 1)
        hit = np.flatnonzero((self._keys[slot] == keys) & (self._lengths[slot] == lengths[candidate]))
        candidate, slot = candidate[hit], slot[hit]
        # The code points themselves, so that a hash collision cannot make a false match.
        grid = _grid(codes, start[candidate], lengths[candidate], self.width)
        exact = (self._grid[slot] == grid).all(axis=1)
        ids[candidate[exact]] = self._ids[slot[exact]]
        return ids


def _grid(codes: np.ndarray, start: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """Each span's code points in a row of ``width``, zeros after its end."""
    # shape: start, lengths (spans,) → (spans, width) uint32
    columns = np.arange(width)
    at = np.minimum(start[:, None] + columns, max(codes.size - 1, 0))
    return np.where(columns < lengths[:, None], codes[at], 0).astype(np.uint32)


def _span_hashes(codes: np.ndarray, start: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """A 64-bit hash of each span's code points and its length (wrapping arithmetic), a column of
    spans at a time (no grid is built).

    Spans in ``0..width`` characters. Column j only runs over the spans longer than j: sorted
    longest first, those are a prefix, so the work is the spans' characters, not spans × width.
    """
    # shape: start, lengths (spans,) → (spans,) uint64
    order = np.argsort((width - lengths).astype(np.uint16), kind="stable")  # radix sort: small keys
    by_length = start[order]
    hashes = lengths[order].astype(np.uint64)
    longer = lengths.size - np.cumsum(np.bincount(lengths, minlength=width + 1))  # spans longer than j
    for j in range(width):
        n = int(longer[j])
        if n == 0:
            break
        head = hashes[:n]
        np.multiply(head, _MULTIPLIER, out=head)
        head += codes[by_length[:n] + j]
    out = np.empty_like(hashes)
    out[order] = hashes
    return out
