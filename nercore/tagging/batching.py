"""Encoder batches of fixed shapes, and chunks of texts.

A text's windows may ride in different batches; the result does not depend on batching, by
construction: each window is padded to a width fixed by its own length (``padded_widths``), and
every encoder call for that width has exactly ``rows_per_batch(width)`` rows, short batches
being filled with empty rows. So the encoder always runs the same kernels on the same shapes,
whichever windows share a batch. Matrix libraries may pick a kernel by the number of rows (oneDNN
with AMX on Intel does: one row gives other sums than three), so a fixed width alone is not
enough; a fixed shape is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nercore.tagging.token_batch import WindowPlan

# Windows are padded up to a multiple of this many positions (see ``BatchShapes.padded_widths``).
WIDTH_STEP = 32


@dataclass(frozen=True)
class BatchShapes:
    """The shapes of a tagger's encoder calls: ``batch_tokens`` padded sub-words a call, windows
    of at most ``max_length`` positions (two special tokens included)."""

    batch_tokens: int
    max_length: int

    def __post_init__(self) -> None:
        if self.batch_tokens < self.max_length:
            raise ValueError(f"expected batch_tokens >= max_length ({self.max_length}), got {self.batch_tokens}")

    def padded_widths(self, num_tokens: np.ndarray) -> np.ndarray:
        """Encoder input width of windows of these sub-word counts: the sub-words and two special
        tokens, rounded up to a multiple of ``WIDTH_STEP`` but not past ``max_length``. A window's
        width depends on the window alone."""
        length = np.asarray(num_tokens, dtype=np.int64) + 2
        return np.maximum(length, np.minimum(-(-length // WIDTH_STEP) * WIDTH_STEP, self.max_length))

    def rows_per_batch(self, width: int) -> int:
        """Rows of every encoder call for windows of this padded width: ``batch_tokens // width``.

        Fixed per width, so that a window's result never depends on how many others share its batch.
        """
        return max(1, self.batch_tokens // int(width))

    def batches(self, windows: WindowPlan) -> list[np.ndarray]:
        """Window indices grouped into forward batches of one padded width each, widest first,
        at most ``rows_per_batch(width)`` windows each (the caller fills the rest with empty rows)."""
        sizes = windows.num_tokens
        widths = self.padded_widths(sizes)
        order = np.lexsort((np.arange(sizes.size), -sizes, -widths))
        cuts = np.flatnonzero(np.diff(widths[order])) + 1
        groups = []
        for same_width in np.split(order, cuts) if order.size else []:
            rows = self.rows_per_batch(widths[same_width[0]])
            groups.extend(same_width[i : i + rows] for i in range(0, same_width.size, rows))
        return groups


def chunk_bounds(lengths: Sequence[int], max_texts: int, max_chars: int) -> list[tuple[int, int]]:
    """Consecutive ``(start, stop)`` slices of at most ``max_texts`` texts and ``max_chars``
    characters each; a text longer than ``max_chars`` is a chunk of its own."""
    ends = np.cumsum(lengths, dtype=np.int64)
    bounds, start = [], 0
    while start < len(lengths):
        before = int(ends[start - 1]) if start else 0
        stop = int(np.searchsorted(ends, before + max_chars, side="right"))
        stop = min(max(stop, start + 1), start + max_texts)
        bounds.append((start, stop))
        start = stop
    return bounds
