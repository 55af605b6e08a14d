"""Windows: coverage, word alignment, deterministic assignment."""

import numpy as np
import pytest

from nercore.tagging import token_batch
from nercore.tagging.preprocess import EncodedText, encoded_from_arrays, make_windows, window_bounds
from nercore.tagging.token_batch import TokenBatch, encode_batch, plan_windows


def fake_encoded(word_lengths):
    """An encoded text whose word i has word_lengths[i] sub-words."""
    word_ids = np.repeat(np.arange(len(word_lengths)), word_lengths)
    n = len(word_ids)
    offsets = np.stack([np.arange(n) * 2, np.arange(n) * 2 + 1], 1)
    return encoded_from_arrays(np.arange(n) + 100, offsets, word_ids)


@pytest.mark.parametrize("window,stride", [(4, 2), (5, 3), (8, 8), (3, 1), (16, 10)])
@pytest.mark.parametrize("seed", range(5))
def test_windows_cover_every_word_once_and_respect_the_size(window, stride, seed):
    rng = np.random.default_rng(seed)
    encoded = fake_encoded(rng.integers(1, 4, size=int(rng.integers(1, 60))).tolist())
    bounds = window_bounds(encoded, window, stride)
    assert bounds[0][0] == 0 and bounds[-1][1] == encoded.num_tokens
    for lo, hi in bounds:
        assert 0 < hi - lo <= window
    starts = [lo for lo, _ in bounds]
    assert starts == sorted(set(starts))
    windows = make_windows(encoded, 0, window, stride)
    assigned = np.concatenate([w.word_ids for w in windows])
    assert sorted(assigned.tolist()) == list(range(encoded.num_words))
    for w in windows:
        first = encoded.word_first_token[w.word_ids]
        assert np.all((first >= w.token_start) & (first < w.token_end))
        assert np.array_equal(w.word_positions, first - w.token_start + 1)


def test_each_word_goes_to_the_window_where_it_is_most_central():
    encoded = fake_encoded([1] * 20)
    windows = make_windows(encoded, 0, 8, 4)
    for w in windows:
        for word in w.word_ids:
            t = encoded.word_first_token[word]
            margin = min(t - w.token_start, w.token_end - 1 - t)
            for other in windows:
                if other.token_start <= t < other.token_end:
                    assert min(t - other.token_start, other.token_end - 1 - t) <= margin


def test_a_word_longer_than_a_window_is_still_covered():
    encoded = fake_encoded([2, 9, 1, 1])
    windows = make_windows(encoded, 0, 4, 2)
    assert sorted(np.concatenate([w.word_ids for w in windows]).tolist()) == [0, 1, 2, 3]


def test_window_settings_are_validated():
    encoded = fake_encoded([1, 1])
    with pytest.raises(ValueError, match="stride"):
        window_bounds(encoded, 4, 5)
    with pytest.raises(ValueError, match="window"):
        window_bounds(encoded, 0, 1)
    assert window_bounds(EncodedText(*(np.zeros(0, dtype=np.int64),) * 4), 4, 2) == []


class _Encoding:
    """What ``encode_batch`` reads of a fast tokenizer's ``Encoding``."""

    def __init__(self, ids, offsets, word_ids):
        self.ids, self.offsets, self.word_ids = ids, offsets, word_ids

    def __len__(self):
        return len(self.ids)


class _Backend:
    truncation = padding = None

    def __init__(self, encodings):
        self.encodings = encodings

    def encode_batch(self, texts, add_special_tokens):
        assert not add_special_tokens
        return self.encodings[: len(texts)]


class _Tokenizer:
    def __init__(self, encodings):
        self.backend_tokenizer = _Backend(encodings)


def test_tokens_outside_any_word_are_dropped_and_the_rest_kept():
    """A token without a word id (None) is no word's sub-word: it goes, with its offsets, and the
    words and offsets around it stay as the tokenizer gave them."""
    encodings = [
        _Encoding([5, 6, 7], [(0, 2), (2, 3), (4, 6)], [0, 0, 1]),
        _Encoding([8, 9, 10, 11], [(0, 1), (1, 1), (2, 4), (4, 5)], [0, None, 1, 1]),
        _Encoding([], [], []),
    ]
    batch = encode_batch(_Tokenizer(encodings), ["ab c", "x yz", ""])
    assert batch.input_ids.tolist() == [5, 6, 7, 8, 10, 11]
    assert batch.token_offsets.tolist() == [0, 3, 6, 6]
    assert batch.word_offsets.tolist() == [0, 2, 4, 4]
    assert batch.word_first_token.tolist() == [0, 2, 3, 4]
    assert list(zip(batch.word_start_char.tolist(), batch.word_end_char.tolist())) == [(0, 3), (4, 6), (0, 1), (2, 5)]
    without_none = encode_batch(_Tokenizer(encodings[:1]), ["ab c"])
    assert without_none.input_ids.tolist() == [5, 6, 7] and without_none.word_offsets.tolist() == [0, 2]


def fake_batch(texts_word_lengths):
    """A ``TokenBatch`` whose text t has words of ``texts_word_lengths[t]`` sub-words each."""
    word_lengths = np.array([n for text in texts_word_lengths for n in text], dtype=np.int64)
    word_counts = np.array([len(text) for text in texts_word_lengths], dtype=np.int64)
    token_counts = np.array([sum(text) for text in texts_word_lengths], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(word_lengths)[:-1]]).astype(np.int64) if word_lengths.size else word_lengths
    text_start = np.repeat(np.concatenate([[0], np.cumsum(token_counts)[:-1]]), word_counts)
    return TokenBatch(
        input_ids=np.arange(int(token_counts.sum()), dtype=np.int64) + 100,
        token_offsets=np.concatenate([[0], np.cumsum(token_counts)]).astype(np.int64),
        word_first_token=first,
        word_start_char=(first - text_start) * 2,
        word_end_char=(first - text_start + word_lengths) * 2 - 1,
        word_offsets=np.concatenate([[0], np.cumsum(word_counts)]).astype(np.int64),
    )


@pytest.mark.parametrize("window,stride", [(4, 2), (5, 3), (8, 8), (3, 1), (16, 10), (6, 1)])
@pytest.mark.parametrize("seed", range(6))
def test_plan_windows_cuts_and_assigns_as_make_windows_does(window, stride, seed):
    """All texts' windows at once (long ones' words given their windows together) against
    ``make_windows`` text by text: short, long and empty texts, words longer than a window."""
    rng = np.random.default_rng(seed)
    texts = [rng.integers(1, 4 if k % 3 else 2 * window, size=int(rng.integers(0, 40))).tolist() for k in range(12)]
    batch = fake_batch(texts)
    plan = plan_windows(batch, window, stride)
    expected_windows, expected_word_window, expected_column = [], np.full(int(batch.word_offsets[-1]), -1), []
    for i in range(len(texts)):
        t0, w0 = int(batch.token_offsets[i]), int(batch.word_offsets[i])
        for w in make_windows(batch.text(i), i, window, stride):
            expected_word_window[w0 + w.word_ids] = len(expected_windows)
            expected_windows.append((i, w.token_start + t0, w.token_end + t0))
            expected_column.extend(zip((w0 + w.word_ids).tolist(), w.word_positions.tolist()))
    assert list(zip(plan.text.tolist(), plan.token_start.tolist(), plan.token_end.tolist())) == expected_windows
    assert plan.word_window.tolist() == expected_word_window.tolist()
    assert [plan.word_column[w] for w, _ in sorted(expected_column)] == [c for _, c in sorted(expected_column)]
    longer = np.flatnonzero(batch.token_counts > window)
    fast = token_batch.long_text_windows(batch, longer, window, stride)[4]
    assert fast.tolist() == token_batch._windows_text_by_text(batch, longer, window, stride).tolist()
