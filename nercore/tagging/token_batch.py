"""Many texts' sub-words, words and windows as flat arrays: the host path without per-word Python.

``encode_batch`` tokenises a list of texts in one call of the fast tokenizer and lays the result
out like a sparse matrix in CSR form: every text's sub-words one after another in one array, with
``token_offsets`` saying where each text starts (and the same for words). ``plan_windows`` cuts
the texts into encoder windows with the rules of ``nercore.tagging.preprocess`` (a text that fits one
window is that window, computed for all such texts at once; a longer text is cut by
``window_bounds``, and the words of all longer texts get their windows at once) and gives each
word the window that supplies its prediction.

Both give exactly what the per-text functions give (``encode_texts``, ``make_windows``); tests
check it on real notes and on random word layouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np

from nercore.tagging.preprocess import EncodedText, make_windows, window_bounds

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class TokenBatch:
    """Texts' sub-words and words, concatenated; token and word indices are global.

    Attributes:
        input_ids: sub-word ids of all texts, no special tokens; shape (tokens,).
        token_offsets: text i's sub-words are ``input_ids[token_offsets[i]:token_offsets[i + 1]]``;
            shape (texts + 1,).
        word_first_token: global index of each word's first sub-word; shape (words,).
        word_start_char, word_end_char: each word's character span in its own text; shape (words,).
        word_offsets: text i's words are ``word_offsets[i]:word_offsets[i + 1]``; shape (texts + 1,).
    """

    input_ids: np.ndarray
    token_offsets: np.ndarray
    word_first_token: np.ndarray
    word_start_char: np.ndarray
    word_end_char: np.ndarray
    word_offsets: np.ndarray

    @property
    def num_texts(self) -> int:
        return int(self.token_offsets.shape[0]) - 1

    @property
    def token_counts(self) -> np.ndarray:
        return np.diff(self.token_offsets)

    @property
    def word_counts(self) -> np.ndarray:
        return np.diff(self.word_offsets)

    def text(self, i: int) -> EncodedText:
        """Text i as an ``EncodedText`` (views, token indices local to the text)."""
        t0, t1 = self.token_offsets[i], self.token_offsets[i + 1]
        w0, w1 = self.word_offsets[i], self.word_offsets[i + 1]
        return EncodedText(
            self.input_ids[t0:t1],
            self.word_first_token[w0:w1] - t0,
            self.word_start_char[w0:w1],
            self.word_end_char[w0:w1],
        )


def ragged_positions(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs of the given lengths laid end to end: each element's run and its place in the run.

    ``ragged_positions([2, 3])`` is ``([0, 0, 1, 1, 1], [0, 1, 0, 1, 2])``.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    rows = np.repeat(np.arange(lengths.size), lengths)
    return rows, np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def empty_batch(num_texts: int) -> TokenBatch:
    zeros = np.zeros(num_texts + 1, dtype=np.int64)
    return TokenBatch(_EMPTY, zeros, _EMPTY, _EMPTY, _EMPTY, zeros)


def raw_encodings(tokenizer: PreTrainedTokenizerFast, texts: list[str]) -> list:
    """The fast tokenizer's ``Encoding`` of each text, without special tokens.

    Calls the Rust tokenizer directly when it has no truncation or padding set (then it gives
    what the transformers wrapper gives): the wrapper also converts every encoding into Python
    lists we do not use, 8% of the host path with a no-layer model.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and backend.truncation is None and backend.padding is None:
        return backend.encode_batch(texts, add_special_tokens=False)
    return tokenizer(
        texts,
        add_special_tokens=False,
        return_offsets_mapping=True,
        return_attention_mask=False,
        return_token_type_ids=False,
        verbose=False,
    ).encodings


def encode_batch(tokenizer: PreTrainedTokenizerFast, texts: list[str]) -> TokenBatch:
    """Tokenise texts in one call of a fast tokenizer; the same words and offsets as ``encode_texts``.

    The tokenizer's per-text lists are joined with ``itertools.chain`` straight into numpy (C
    loops); every later step is an array operation over all texts.
    """
    if not texts:
        return empty_batch(0)
    encodings = raw_encodings(tokenizer, texts)
    n = len(encodings)
    counts = np.fromiter(map(len, encodings), dtype=np.int64, count=n)  # an Encoding's length: its tokens
    total = int(counts.sum())
    if total == 0:
        return empty_batch(n)
    ids = np.fromiter(chain.from_iterable(e.ids for e in encodings), dtype=np.int64, count=total)
    offsets = np.fromiter(
        chain.from_iterable(chain.from_iterable(e.offsets for e in encodings)), dtype=np.int64, count=2 * total
    ).reshape(-1, 2)
    try:
        word_ids = np.fromiter(chain.from_iterable(e.word_ids for e in encodings), dtype=np.int64, count=total)
    except TypeError:  # a None: tokens outside any word (rare), dropped below
        word_ids = np.fromiter(
            (-1 if w is None else w for e in encodings for w in e.word_ids), dtype=np.int64, count=total
        )
    token_text = np.repeat(np.arange(n), counts)
    keep = word_ids >= 0
    if not keep.all():
        ids, offsets, word_ids, token_text = ids[keep], offsets[keep], word_ids[keep], token_text[keep]
        counts = np.bincount(token_text, minlength=n)
    token_offsets = np.concatenate([[0], np.cumsum(counts)])
    if ids.size == 0:
        return empty_batch(n)
    is_first = np.ones(ids.shape[0], dtype=bool)
    is_first[1:] = (word_ids[1:] != word_ids[:-1]) | (token_text[1:] != token_text[:-1])
    first = np.flatnonzero(is_first)
    last = np.append(first[1:], ids.shape[0]) - 1
    word_counts = np.bincount(token_text[first], minlength=n)
    return TokenBatch(
        input_ids=ids,
        token_offsets=token_offsets,
        word_first_token=first,
        word_start_char=offsets[first, 0],
        word_end_char=np.maximum(offsets[last, 1], offsets[first, 1]),
        word_offsets=np.concatenate([[0], np.cumsum(word_counts)]),
    )


@dataclass(frozen=True)
class WindowPlan:
    """Encoder windows of a ``TokenBatch``, ordered by text then position, and each word's window.

    Attributes:
        text: the text of each window; shape (windows,).
        token_start, token_end: each window's global sub-word slice; shape (windows,).
        word_window: the window that supplies each word's prediction; shape (words,).
        word_column: that word's first sub-word position in its window's encoder input, counting
            the leading special token; shape (words,).
    """

    text: np.ndarray
    token_start: np.ndarray
    token_end: np.ndarray
    word_window: np.ndarray
    word_column: np.ndarray

    @property
    def num_windows(self) -> int:
        return int(self.text.shape[0])

    def __len__(self) -> int:
        return self.num_windows

    @property
    def num_tokens(self) -> np.ndarray:
        return self.token_end - self.token_start

    def words_by_window(self) -> tuple[np.ndarray, np.ndarray]:
        """Words grouped by window: ``order[offsets[k]:offsets[k + 1]]`` are window k's words."""
        order = np.argsort(self.word_window, kind="stable")
        offsets = np.searchsorted(self.word_window[order], np.arange(self.num_windows + 1))
        return order, offsets


def plan_windows(batch: TokenBatch, window: int, stride: int) -> WindowPlan:
    """The windows of every text, as ``make_windows`` cuts them, in flat arrays."""
    counts = batch.token_counts
    single = np.flatnonzero((counts > 0) & (counts <= window))
    longer = np.flatnonzero(counts > window)
    window_of_text = np.full(batch.num_texts, -1, dtype=np.int64)
    window_of_text[single] = np.arange(single.size)
    word_window = window_of_text[np.repeat(np.arange(batch.num_texts), batch.word_counts)]
    # One window per short text; then the windows of the long texts, whose words are given their
    # windows all at once.
    long_text, long_start, long_end, long_words, long_window = long_text_windows(batch, longer, window, stride)
    word_window[long_words] = single.size + long_window
    text = np.concatenate([single, long_text])
    start = np.concatenate([batch.token_offsets[single], long_start])
    end = np.concatenate([batch.token_offsets[single + 1], long_end])
    order = np.lexsort((start, text))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    word_window = rank[word_window] if word_window.size else word_window
    start, end, text = start[order], end[order], text[order]
    column = batch.word_first_token - start[word_window] + 1 if word_window.size else _EMPTY
    return WindowPlan(text, start, end, word_window, column)


def long_text_windows(batch: TokenBatch, texts: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, ...]:
    """The windows of ``texts`` (ascending), cut by ``window_bounds``, and each of their words'
    window as ``make_windows`` chooses it: the one where its first sub-word is farthest from
    either edge, the earlier on a tie.

    Returns:
        Each window's text, global sub-word start and end (windows in text order, then by start);
        the global indices of the texts' words, and each one's window (an index into the former).
    """
    bounds = [window_bounds(batch.text(i), window, stride) for i in texts.tolist()]
    per_text = np.fromiter(map(len, bounds), dtype=np.int64, count=len(bounds))
    local = np.array([b for text_bounds in bounds for b in text_bounds], dtype=np.int64).reshape(-1, 2)
    text = np.repeat(texts, per_text)
    start, end = local[:, 0] + batch.token_offsets[text], local[:, 1] + batch.token_offsets[text]
    word_counts = batch.word_counts[texts]
    words = np.repeat(batch.word_offsets[texts], word_counts) + ragged_positions(word_counts)[1]  # shape: (words,)
    first = batch.word_first_token[words]
    if words.size == 0:
        return text, start, end, words, _EMPTY
    if (np.diff(end) < 0).any():  # window ends never go back (window_bounds): otherwise, text by text
        return text, start, end, words, _windows_text_by_text(batch, texts, window, stride)
    # Starts and ends ascend over all windows, so the windows holding a sub-word are the run from
    # the first that ends after it to the last that starts at or before it.
    latest = np.searchsorted(start, first, side="right") - 1
    earliest = np.searchsorted(end, first, side="right")
    best = np.full(words.size, -1, dtype=np.int64)
    best_margin = np.full(words.size, -1, dtype=np.int64)
    for m in range(int((latest - earliest).max()) + 1):  # earlier windows first: ties stay with them
        k = np.minimum(earliest + m, latest)
        margin = np.minimum(first - start[k], end[k] - 1 - first)
        better = (earliest + m <= latest) & (margin > best_margin)
        best[better] = k[better]
        best_margin[better] = margin[better]
    return text, start, end, words, best


def _windows_text_by_text(batch: TokenBatch, texts: np.ndarray, window: int, stride: int) -> np.ndarray:
    """Each word's window (numbered over all texts' windows) from ``make_windows``, text by text."""
    out, next_id = [], 0
    for i in texts.tolist():
        windows = make_windows(batch.text(i), i, window, stride)
        chosen = np.empty(int(batch.word_offsets[i + 1] - batch.word_offsets[i]), dtype=np.int64)
        for k, w in enumerate(windows):
            chosen[w.word_ids] = next_id + k
        out.append(chosen)
        next_id += len(windows)
    return np.concatenate(out) if out else _EMPTY


def batch_arrays(
    tokens: TokenBatch,
    plan: WindowPlan,
    group: np.ndarray,
    words: tuple[np.ndarray, np.ndarray],
    width: int,
    n_rows: int,
    special: tuple[int, int, int],
) -> tuple[np.ndarray, ...]:
    """Host arrays of one encoder call, of the fixed shape (``n_rows``, ``width``), by array operations.

    Args:
        group: indices of windows that all have this padded width.
        words: ``plan.words_by_window()``.
        special: the [CLS], [SEP] and padding ids.

    Returns:
        input_ids, attention_mask, word_positions: shape (n_rows, width); rows past the group's
        windows are empty ([CLS] [SEP]); word positions past a window's words are 0. Then, for
        each word the batch supplies: its row, its column among the row's words, and its global
        word index; shape (words,).
    """
    if group.size > n_rows:
        raise ValueError(f"expected at most {n_rows} windows of width {width} in a batch, got {group.size}")
    sizes = plan.num_tokens[group]
    cls_id, sep_id, pad_id = special
    ids = np.full((n_rows, width), pad_id, dtype=np.int64)
    ids[:, 0], ids[:, 1] = cls_id, sep_id
    rows, cols = ragged_positions(sizes)
    ids[rows, cols + 1] = tokens.input_ids[np.repeat(plan.token_start[group], sizes) + cols]
    ids[np.arange(group.size), sizes + 1] = sep_id
    lengths = np.full(n_rows, 2, dtype=np.int64)
    lengths[: group.size] = sizes + 2
    attention = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
    order, offsets = words
    counts = offsets[group + 1] - offsets[group]
    word_rows, word_cols = ragged_positions(counts)
    targets = order[np.repeat(offsets[group], counts) + word_cols]
    positions = np.zeros((n_rows, width), dtype=np.int64)
    positions[word_rows, word_cols] = plan.word_column[targets]
    return ids, attention, positions, word_rows, word_cols, targets


def width_batch_arrays(
    tokens: TokenBatch,
    plan: WindowPlan,
    groups: list[np.ndarray],
    words: tuple[np.ndarray, np.ndarray],
    width: int,
    n_rows: int,
    special: tuple[int, int, int],
):
    """``batch_arrays`` of each of ``groups`` (consecutive batches of one width), built for all of
    them in one pass and cut into batches: the same arrays, without a pass per batch.

    Yields:
        For each group, what ``batch_arrays`` returns for it (row-slices of the arrays of all).
    """
    sizes = [group.size for group in groups]
    if any(size != n_rows for size in sizes[:-1]) or not 0 < sizes[-1] <= n_rows:
        raise ValueError(f"expected batches of {n_rows} windows of width {width} (the last 1 to {n_rows}), got {sizes}")
    ids, attention, positions, word_rows, word_cols, targets = batch_arrays(
        tokens, plan, np.concatenate(groups), words, width, n_rows * len(groups), special
    )
    cuts = np.searchsorted(word_rows, np.arange(len(groups) + 1) * n_rows).tolist()  # word rows ascend
    for k in range(len(groups)):
        rows, lo, hi = slice(k * n_rows, (k + 1) * n_rows), cuts[k], cuts[k + 1]
        yield (
            ids[rows],
            attention[rows],
            positions[rows],
            word_rows[lo:hi] - k * n_rows,
            word_cols[lo:hi],
            targets[lo:hi],
        )


@dataclass(frozen=True)
class Prepared:
    """The preprocessed form of a list of texts: flat sub-words and words, and their windows."""

    tokens: TokenBatch
    windows: WindowPlan

    @property
    def num_tokens(self) -> int:
        return int(self.tokens.token_offsets[-1])

    @property
    def encoded(self) -> list[EncodedText]:
        """Each text as an ``EncodedText`` (views; for inspection and tests)."""
        return [self.tokens.text(i) for i in range(self.tokens.num_texts)]
