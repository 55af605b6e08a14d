"""Windows: coverage, word alignment, deterministic assignment."""

import numpy as np
import pytest

from nercore.tagging.preprocess import EncodedText, encoded_from_arrays, make_windows, window_bounds


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
