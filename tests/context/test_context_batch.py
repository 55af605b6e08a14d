"""Clinical context for many texts at once (issue 11): words, sentences, sections and trigger
matches found over the joined texts with array operations equal, exactly, what the per-text
engine (``tests/context/reference_context.py``) finds for each text alone."""

from __future__ import annotations

import csv
import random
import re

import numpy as np
import pytest

from nercore.context.engine import ContextFinder
from nercore.context.rules import WORD, normalise_word
from nercore.context.sections import SectionFinder, header_trie
from nercore.context.words import join_texts, split_words
from tests.conftest import SHARED_DATA
from tests.context.reference_context import OldContextFinder, OldSectionFinder

# Pieces that stress every rule: headers in each case and layout, colons and "(s):", upper-case
# runs, list items, abbreviations, apostrophes, numbers and years (Arabic-Indic too), triggers
# and terminators, whitespace of every kind, and characters whose case mapping is special.
PIECES = [
    "Past Medical History:",
    "PAST MEDICAL HISTORY",
    "past medical\nhistory:",
    "Family History\n",
    "HISTORY(S):",
    "history's",
    "prehistory",
    "Assessment/Plan:",
    "ASSESSMENT/PLAN",
    "DR  SMITH:",
    "Dr. Smith",
    "IMPRESSION:",
    "ANESTHESIA: ",
    "ROS 2:",
    "A:",
    "B.P. 120/80",
    "no",
    "No",
    "denies",
    "negative for",
    "history of",
    "possible",
    "if",
    "mother",
    "but",
    "however",
    ";",
    "who",
    "no increase",
    "gram negative",
    "without",
    "rule out",
    "r/o",
    "fever",
    "pneumonia",
    "cough",
    "diverticulitis",
    "1999",
    "2020",
    "12",
    "٣",
    "2)",
    "3) ",
    "(",
    ")",
    ".",
    "!",
    "?",
    ",",
    ":",
    "-",
    "*",
    "•",
    "/",
    "'",
    "doesn't",
    "'tis",
    "e.g.",
    "vs.",
    "pt.",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "\xa0",
    "\x0c",
    "\n \n",
    "İstanbul",
    "ſ",
    "K",
    "ΣΑΣ",
    "ÉTAT:",
    "🙂",
    "_x_",
]


def fuzz_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    ascii_pieces = [p for p in PIECES if p.isascii()]
    texts = ["", "   ", "\n\n", "No fever.", "PAST MEDICAL HISTORY: none"]
    for i in range(n):
        # half the texts ASCII only: those take the lower-cased header search
        pieces = [rng.choice(PIECES if i % 2 else ascii_pieces) for _ in range(rng.randrange(1, 40))]
        texts.append("".join(p + rng.choice(["", " ", " ", "\n"]) for p in pieces))
    return texts


def random_spans(texts: list[str], per_text: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = random.Random(seed)
    rows = []
    for t, text in enumerate(texts):
        for _ in range(rng.randrange(per_text + 1)):
            start = rng.randrange(len(text) + 1)
            rows.append((t, start, min(len(text), start + rng.randrange(30))))
    rows.sort()
    return tuple(np.array([r[i] for r in rows], dtype=np.int64) for i in range(3))


def assert_batch_equals_per_text(texts: list[str], per_text: int, seed: int) -> int:
    old, new = OldContextFinder(), ContextFinder()
    text, start, end = random_spans(texts, per_text, seed)
    expected = [
        c
        for t, text_ in enumerate(texts)
        for c in old.find(text_, [(int(a), int(b)) for a, b in zip(start[text == t], end[text == t])])
    ]
    assert new.find_batch(texts, text, start, end) == expected
    # in pieces and one by one too: a text's context does not depend on its neighbours
    half = len(texts) // 2
    first = text < half
    assert (
        new.find_batch(texts[:half], text[first], start[first], end[first])
        + new.find_batch(texts[half:], text[~first] - half, start[~first], end[~first])
        == expected
    )
    return len(expected)


def test_words_equal_the_word_pattern():
    texts = fuzz_texts(300, seed=1)
    joined = join_texts(texts)
    words = split_words(joined)
    found = [(m.start(), m.end(), normalise_word(m.group(0))) for m in WORD.finditer(joined.text)]
    assert list(zip(words.start.tolist(), words.end.tolist(), words.norms)) == found
    assert words.text_offsets.tolist() == np.searchsorted(words.start, joined.offsets).tolist()
    assert {"<num>", "<year>", "doesn't", "ſ", "σας"} <= set(words.norms)


def test_sections_of_joined_texts_equal_each_text_alone():
    finder, oracle = SectionFinder(ContextFinder().rules.sections), OldSectionFinder(ContextFinder().rules.sections)
    texts = fuzz_texts(400, seed=2)
    joined = join_texts(texts)
    got = finder.find_all(joined.header_text, texts, joined.offsets[:-1].tolist())
    expected = [
        (int(lo) + s.start, int(lo) + s.header_end, s.name, s.implies)
        for lo, text in zip(joined.offsets, texts)
        for s in oracle.find(text)
    ]
    assert [(s.start, s.header_end, s.name, s.implies) for s in got] == expected
    assert len({name for *_, name, _ in expected}) >= 5  # listed and unlisted headers occurred
    for text in texts[:100]:
        assert finder.find(text) == oracle.find(text)


def test_header_trie_prefers_the_longest_header():
    headers = ["history", "medical history", "past medical history", "past", "follow", "follow-up", "a/p"]
    pattern = re.compile(rf"(?<![\w/])(?:{header_trie(headers)})(?![\w/])", re.I)
    text = "Past  Medical\nHistory: x. Follow-up: y, follow: z. A/P: w. pasta history"
    assert [m.group(0) for m in pattern.finditer(text)] == [
        "Past  Medical\nHistory",
        "Follow-up",
        "follow",
        "A/P",
        "history",
    ]


@pytest.mark.parametrize("seed", [3, 4])
def test_batch_context_equals_the_per_text_engine_on_fuzzed_texts(seed):
    assert assert_batch_equals_per_text(fuzz_texts(500, seed), per_text=12, seed=seed) > 2000


def test_batch_context_equals_the_per_text_engine_on_real_notes():
    path = SHARED_DATA / "mtsamples" / "mtsamples.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    with open(path, encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)][:120]
    assert assert_batch_equals_per_text(texts, per_text=40, seed=5) > 2000


def test_spans_outside_their_text_are_an_error():
    finder = ContextFinder()
    with pytest.raises(
        ValueError, match=r"expected spans with 0 <= start <= end <= len\(text\), got \(3, 9\) for text 1"
    ):
        finder.find_batch(["No fever.", "abc"], np.array([0, 1]), np.array([3, 3]), np.array([8, 9]))
    with pytest.raises(ValueError, match="got \\(0, 1\\) for text 2"):
        finder.find_batch(["a", "b"], np.array([2]), np.array([0]), np.array([1]))
    with pytest.raises(
        ValueError, match=r"expected text, start and end of one length, got shapes \(2,\), \(1,\), \(1,\)"
    ):
        finder.find_batch(["a", "b"], np.array([0, 1]), np.array([0]), np.array([1]))
