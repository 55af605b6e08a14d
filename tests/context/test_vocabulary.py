"""Words found in the trigger vocabulary by their code points equal a dict lookup of their strings."""

import random

import numpy as np
import pytest

from nercore.context import vocabulary as vocabulary_module
from nercore.context.engine import ContextFinder
from nercore.context.vocabulary import SpelledVocabulary


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def test_lookup_equals_the_dict_on_vocabulary_words_near_misses_and_odd_characters():
    vocabulary = ContextFinder()._triggers.vocabulary
    spelled = [w for w in vocabulary if w not in ("<num>", "<year>")]
    rng = random.Random(0)
    words = list(spelled)
    words += [w[:-1] for w in spelled if len(w) > 1] + [w + "s" for w in spelled] + [w[1:] for w in spelled]
    words += ["x" * n for n in range(1, 30)] + ["🙂", "é", "no🙂", "\x00", "<num>", "num", "ſ", "denies" * 3]
    words += ["".join(rng.choice("aeinorst;,'") for _ in range(rng.randrange(1, 8))) for _ in range(3000)]
    rng.shuffle(words)
    text = " ".join(words)
    start = np.array(np.cumsum([0] + [len(w) + 1 for w in words[:-1]]), dtype=np.int64)
    end = start + np.array([len(w) for w in words], dtype=np.int64)
    got = SpelledVocabulary(vocabulary).lookup(_codes(text), start, end)
    expected = [-1 if w in ("<num>", "<year>") else vocabulary.get(w, -1) for w in words]
    assert got.tolist() == expected
    assert (got >= 0).sum() >= len(spelled)  # every vocabulary word was found, and some random ones


def test_an_empty_vocabulary_or_no_words_find_nothing():
    assert SpelledVocabulary({}).lookup(_codes("no fever"), np.array([0, 3]), np.array([2, 8])).tolist() == [-1, -1]
    assert (
        SpelledVocabulary({"no": 0}).lookup(_codes(""), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)).size
        == 0
    )


def test_colliding_vocabulary_hashes_are_refused(monkeypatch):
    monkeypatch.setattr(
        vocabulary_module, "_span_hashes", lambda codes, starts, *_: np.zeros(starts.size, dtype=np.uint64)
    )
    with pytest.raises(ValueError, match="expected distinct hashes of the 2 vocabulary words"):
        SpelledVocabulary({"no": 0, "denies": 1})
