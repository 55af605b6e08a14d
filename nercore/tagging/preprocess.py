"""Tokenise notes and cut them into windows: the pure, model-free first stage of tagging.

A *word* is a unit of the tokenizer's pre-tokenizer (for BERT: a run of letters/digits or one
punctuation mark). The model labels each word through its first sub-word, so an entity is
always a run of whole words and never starts or ends inside one. Character offsets come from
the fast tokenizer's offset mapping only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast


@dataclass(frozen=True)
class EncodedText:
    """A text's sub-words and words, with character offsets into the original string.

    Attributes:
        input_ids: sub-word ids, no special tokens; shape (tokens,).
        word_first_token: index of each word's first sub-word; shape (words,).
        word_start_char, word_end_char: character span of each word (end exclusive).
    """

    input_ids: np.ndarray
    word_first_token: np.ndarray
    word_start_char: np.ndarray
    word_end_char: np.ndarray

    @property
    def num_tokens(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def num_words(self) -> int:
        return int(self.word_first_token.shape[0])


@dataclass(frozen=True)
class Window:
    """A slice of one text's sub-words fed to the encoder as one sequence.

    Attributes:
        text_index: which text of the batch this window belongs to.
        token_start, token_end: the slice of ``EncodedText.input_ids`` (end exclusive).
        word_ids: the words whose predictions this window supplies; shape (n,).
        word_positions: those words' first sub-word positions inside the encoder input,
            counting the leading special token; shape (n,).
    """

    text_index: int
    token_start: int
    token_end: int
    word_ids: np.ndarray
    word_positions: np.ndarray

    @property
    def num_tokens(self) -> int:
        return self.token_end - self.token_start


def encode_texts(tokenizer: PreTrainedTokenizerFast, texts: list[str]) -> list[EncodedText]:
    """Tokenise texts with a fast tokenizer (one batched call), keeping words and offsets.

    Inference and training both tokenise through this function, so they see the same words.
    """
    batch = tokenizer(
        texts,
        add_special_tokens=False,
        return_offsets_mapping=True,
        return_attention_mask=False,
        return_token_type_ids=False,
        verbose=False,
    )
    encoded = []
    for enc in batch.encodings:
        word_ids = np.fromiter((-1 if w is None else w for w in enc.word_ids), dtype=np.int64, count=len(enc.ids))
        ids = np.asarray(enc.ids, dtype=np.int64)
        offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
        encoded.append(encoded_from_arrays(ids, offsets, word_ids))
    return encoded


def encoded_from_arrays(input_ids: np.ndarray, offsets: np.ndarray, word_ids: np.ndarray) -> EncodedText:
    """Build an ``EncodedText`` from per-token ids, (start, end) offsets and word ids.

    Tokens with no word (``-1``) are dropped. Word ids need not be dense: each distinct id in
    order of appearance becomes one word.
    """
    keep = word_ids >= 0
    input_ids, offsets, word_ids = input_ids[keep], offsets[keep], word_ids[keep]
    if input_ids.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return EncodedText(input_ids, empty, empty, empty)
    is_first = np.ones(word_ids.shape[0], dtype=bool)
    is_first[1:] = word_ids[1:] != word_ids[:-1]
    first = np.flatnonzero(is_first)
    last = np.append(first[1:], word_ids.shape[0]) - 1
    return EncodedText(
        input_ids=input_ids,
        word_first_token=first,
        word_start_char=offsets[first, 0],
        word_end_char=np.maximum(offsets[last, 1], offsets[first, 1]),
    )


def window_bounds(encoded: EncodedText, window: int, stride: int) -> list[tuple[int, int]]:
    """Token slices covering a text with overlapping windows that start at word starts.

    Each window holds at most ``window`` sub-words; consecutive windows start about ``stride``
    sub-words apart, so they overlap by about ``window - stride``. A window ends at a word start
    where it can, so words are not cut; a single word longer than a window is the only cut.
    Every word's first sub-word lies in at least one window.
    """
    if window < 1:
        raise ValueError(f"expected window >= 1, got {window}")
    if not 1 <= stride <= window:
        raise ValueError(f"expected 1 <= stride <= window ({window}), got {stride}")
    n = encoded.num_tokens
    if n == 0:
        return []
    starts = encoded.word_first_token
    bounds = []
    begin = 0
    while True:
        end = begin + window
        if end >= n:
            bounds.append((begin, n))
            return bounds
        # End at the last word start inside (begin, end] so the window does not cut a word.
        k = int(np.searchsorted(starts, end, side="right")) - 1
        if starts[k] > begin:
            end = int(starts[k])
        bounds.append((begin, end))
        # Next window: the last word start within begin + stride, but always moving forward
        # and never leaving a gap of first sub-words behind.
        k = int(np.searchsorted(starts, begin + stride, side="right")) - 1
        next_begin = int(starts[k]) if starts[k] > begin else None
        if next_begin is None:
            k = int(np.searchsorted(starts, begin, side="right"))
            next_begin = int(starts[k]) if k < len(starts) else n
        begin = min(next_begin, end)
        if begin >= n:
            return bounds


def make_windows(encoded: EncodedText, text_index: int, window: int, stride: int) -> list[Window]:
    """Cut a text into windows and give each word to exactly one of them.

    A word goes to the window in which its first sub-word is farthest from either edge
    (ties go to the earlier window), so every prediction has as much context as possible and
    the result does not depend on batching.
    """
    bounds = window_bounds(encoded, window, stride)
    first = encoded.word_first_token
    best_window = np.full(first.shape[0], -1, dtype=np.int64)
    best_margin = np.full(first.shape[0], -1, dtype=np.int64)
    for w, (lo, hi) in enumerate(bounds):
        inside = (first >= lo) & (first < hi)
        margin = np.minimum(first - lo, hi - 1 - first)
        better = inside & (margin > best_margin)
        best_window[better] = w
        best_margin[better] = margin[better]
    windows = []
    for w, (lo, hi) in enumerate(bounds):
        ids = np.flatnonzero(best_window == w)
        windows.append(Window(text_index, lo, hi, ids, first[ids] - lo + 1))
    return windows
