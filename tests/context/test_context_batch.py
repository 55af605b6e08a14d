"""Clinical context for many texts at once (issue 11): words, sentences, sections and trigger
matches found over the joined texts with array operations equal, exactly, what the per-text
engine (``tests/context/reference_context.py``) finds for each text alone."""

from __future__ import annotations

import csv
import random
import re
import sys

import numpy as np
import pytest

from nercore.context.engine import Context, ContextFinder
from nercore.context.matching import CATEGORIES, TriggerTable, _known_runs
from nercore.context.rules import DEFAULT_SECTIONS, WORD, ContextRules, SectionRule, normalise_word
from nercore.context.sections import SectionFinder, fold_case, header_trie
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


def assert_batch_equals_per_text(
    texts: list[str], per_text: int, seed: int, rules: ContextRules | None = None
) -> tuple[int, int]:
    """Asserts; returns how many spans were compared and how many of them a trigger or section set."""
    old, new = OldContextFinder(rules), ContextFinder(rules)
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
    return len(expected), sum(c != Context(section=c.section) for c in expected)


@pytest.mark.parametrize("context_free_case", [False, True])
def test_words_equal_the_word_pattern(context_free_case):
    """Also without final sigma and "İ", where the joined text is lowered at once."""
    texts = fuzz_texts(300, seed=1)
    if context_free_case:
        texts = [t.replace("\u03a3", "\u0393").replace("\u0130", "\u00c9") for t in texts]
        assert sum(not t.isascii() for t in texts) > 50
    joined = join_texts(texts)
    words = split_words(joined)
    found = [(m.start(), m.end(), normalise_word(m.group(0))) for m in WORD.finditer(joined.text)]
    assert list(zip(words.start.tolist(), words.end.tolist(), words.norms)) == found
    assert words.text_offsets.tolist() == np.searchsorted(words.start, joined.offsets).tolist()
    assert {"<num>", "<year>", "doesn't", "ſ", "γαγ" if context_free_case else "σας", "état"} <= set(words.norms)


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


def test_fold_case_keeps_offsets_boundaries_and_what_ignorecase_matches():
    """Over every code point: one character folds to one, word characters and whitespace stay
    so, the fold is what ``re.I`` calls equal, and a character ``re.I`` equates with an ASCII one
    folds to ASCII (the folded search's premise)."""
    ascii_like = re.compile(r"[\x00-\x7f]", re.I)
    word, space = re.compile(r"[\w/]"), re.compile(r"\s")
    wrong = []
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code < 0xE000:
            continue
        c = chr(code)
        f = fold_case(c)
        if (
            len(f) != 1
            or (word.match(c) is None) != (word.match(f) is None)
            or (space.match(c) is None) != (space.match(f) is None)
            or re.fullmatch(re.escape(f), c, re.I) is None
            or (ascii_like.match(c) is not None and not f.isascii())
        ):
            wrong.append(hex(code))
    assert wrong == []
    assert fold_case("İı ſ \u212a É") == "ii s k é"


# What ``re.I`` matches to an ASCII letter besides its two cases (İ ı ſ and the Kelvin sign).
CASE_VARIANTS = {"i": ["\u0130", "\u0131"], "s": ["\u017f"], "k": ["\u212a"]}


def variant_headers(headers, seed: int) -> list[str]:
    """Every header in a random layout, some letters replaced by their non-ASCII case variants."""
    rng = random.Random(seed)
    texts = []
    for header in headers:
        cased = header.upper() if rng.random() < 0.5 else header.title()
        spelled = "".join(
            rng.choice(CASE_VARIANTS[c.lower()]) if c.lower() in CASE_VARIANTS and rng.random() < 0.4 else c
            for c in cased
        )
        texts.append(rng.choice(["", "x. ", "\n", "Über. "]) + spelled + rng.choice([":", "\n", " (s): é", " é"]))
    return texts


def found_together(finder: SectionFinder, joined) -> list[tuple[int, int, str]]:
    """(start, header end, name) of each header ``finder`` finds in all texts at once."""
    return [
        (s.start, s.header_end, s.name)
        for s in finder.find_all(joined.header_text, joined.texts, joined.offsets[:-1].tolist())
    ]


def found_alone(oracle: OldSectionFinder, joined) -> list[tuple[int, int, str]]:
    """The same as ``oracle`` finds them in each text alone, offsets in the joined texts."""
    return [
        (int(lo) + s.start, int(lo) + s.header_end, s.name)
        for lo, text in zip(joined.offsets, joined.texts)
        for s in oracle.find(text)
    ]


@pytest.mark.parametrize("non_ascii_header", [False, True])
def test_headers_spelled_with_case_variants_are_found_as_each_text_alone(non_ascii_header):
    """The folded search of all texts at once matches where the case-insensitive pattern matches
    each text alone, also with letters that only ``re.I`` equates with ASCII; and with a non-ASCII
    header among the rules (searched the slower way)."""
    rules = (*ContextFinder().rules.sections, SectionRule(header="work up", section="workup", implies=()))
    if non_ascii_header:
        rules = (*rules, SectionRule(header="anamnèse", section="history", implies=()))
    finder, oracle = SectionFinder(rules), OldSectionFinder(rules)
    texts = variant_headers([r.header for r in rules] * 3, seed=5) + [
        "ANAMNÈSE: x",
        "Anamnèse\n",
        "WOR\u212a UP: x",
        "\u212aıd: k",
    ]
    joined = join_texts(texts)
    assert found_together(finder, joined) == found_alone(oracle, joined)
    candidates = [
        (int(lo) + m.start(), int(lo) + m.end())
        for lo, text in zip(joined.offsets, texts)
        for m in finder._pattern.finditer(text)
    ]
    assert sorted(finder._listed(joined.header_text, texts, joined.offsets[:-1].tolist())) == candidates
    # The variants were matched as header words (a listed header only when lower-casing gives its
    # ASCII spelling, as the Kelvin sign's does).
    spelled_oddly = [t for t in texts if any(v in t for vs in CASE_VARIANTS.values() for v in vs)]
    assert sum(oracle._pattern.search(t) is not None for t in spelled_oddly) >= 20
    assert any(oracle.find(t) for t in spelled_oddly if "\u212a" in t)


def test_headers_followed_by_any_kind_of_space_or_colon_are_found_as_before():
    # ``find_all`` drops a match of header words at once unless a colon or the end of its line
    # follows; every header the per-text engine finds must survive that, whatever space follows.
    rules = ContextFinder().rules.sections
    finder, oracle = SectionFinder(rules), OldSectionFinder(rules)
    tails = ["", ":", " :", "\t:", "(s):", "(ES) :", " (s):", "\n", " \n", "\r\n", "\r", "\xa0\n", "\x0c", "\x1c",
             "\x85", "\u2028", "\u3000", " x", ".", ",:", "\n\x00"]  # fmt: skip
    rng = random.Random(5)
    texts = []
    for rule in rules:
        for tail in tails:
            header = rng.choice([rule.header, rule.header.upper(), rule.header.title()])
            texts.append(rng.choice(["", "\n", "x. ", "2) ", "see "]) + header + tail + rng.choice(["", " y", "\nz"]))
    joined = join_texts(texts)
    assert found_together(finder, joined) == found_alone(oracle, joined)
    assert [finder.find(t) for t in texts] == [oracle.find(t) for t in texts]
    alone = [t for t in texts if oracle.find(t) and ":" not in t]
    assert len(alone) >= len(rules)  # headers alone on their line, found without a colon


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
    assert assert_batch_equals_per_text(fuzz_texts(500, seed), per_text=12, seed=seed)[0] > 2000


def trigger_texts(rules: ContextRules, n: int, seed: int) -> list[str]:
    """Texts made of the rules' own trigger phrases (in random case, several in a row, so that they
    overlap and nest), mentions, sentence ends and headers."""
    rng = random.Random(seed)
    phrases = [" ".join(w.replace("<num>", "12").replace("<year>", "1999") for w in t.words) for t in rules.triggers]
    fillers = ["fever", "pneumonia", "chest pain", ".", ". The", ",", ";", "\n\n", "Past Medical History:",
               "FAMILY HISTORY:", "2)", "Dr.", "and", "of"]  # fmt: skip
    texts = []
    for _ in range(n):
        pieces = [
            rng.choice(phrases) if rng.random() < 0.5 else rng.choice(fillers) for _ in range(rng.randrange(2, 30))
        ]
        pieces = [p.upper() if rng.random() < 0.1 else p.capitalize() if rng.random() < 0.2 else p for p in pieces]
        texts.append(" ".join(pieces))
    return texts


@pytest.mark.parametrize("seed", [6, 7])
def test_batch_context_equals_the_per_text_engine_on_texts_of_triggers(seed):
    # every trigger of the shipped rules, each attribute set many times over
    compared, set_by_rules = assert_batch_equals_per_text(trigger_texts(ContextRules.load(), 400, seed), 10, seed)
    assert compared > 1500 and set_by_rules > 700


def test_overlapping_and_nested_triggers_are_chosen_as_the_per_text_engine_chooses(tmp_path):
    triggers = tmp_path / "triggers.tsv"
    triggers.write_text(
        "\n".join(
            [
                "a b\tNEGATED\tforward\t-\ttest",
                "b c\tHISTORICAL\tforward\t-\ttest",
                "c\tOTHER\tbackward\t3\ttest",
                "b c d e\tPSEUDO\t-\t-\ttest",
                "d\tPOSSIBLE\tboth\t-\ttest",
                "d\tHYPOTHETICAL\tforward\t2\ttest",
                "x\tTERMINATE:NEGATED\t-\t-\ttest",
                "y\tTERMINATE\t-\t-\ttest",
            ]
        )
        + "\n"
    )
    rules = ContextRules.load(triggers, DEFAULT_SECTIONS)
    rng = random.Random(8)
    texts = [" ".join(rng.choice("abcdexyz.") for _ in range(rng.randrange(1, 25))) for _ in range(600)]
    compared, set_by_rules = assert_batch_equals_per_text(texts, per_text=8, seed=8, rules=rules)
    assert compared > 2000 and set_by_rules > 500


def test_trigger_table_takes_the_longest_phrase_left_to_right(tmp_path):
    triggers = tmp_path / "triggers.tsv"
    triggers.write_text(
        "a b\tNEGATED\tforward\t-\tt\nb c\tHISTORICAL\tforward\t-\tt\nc\tOTHER\tbackward\t3\tt\n"
        "b c d e\tPSEUDO\t-\t-\tt\nd\tPOSSIBLE\tboth\t-\tt\nd\tHYPOTHETICAL\tforward\t2\tt\n"
    )
    table = TriggerTable(ContextRules.load(triggers, DEFAULT_SECTIONS))
    # "b c" is tangled with "a b" and loses; "c" and "d" start where "a b" ends
    found = table.match("a b c d e".split(), np.array([0, 5]))
    assert found.start.tolist() == [0, 2, 3] and found.end.tolist() == [2, 3, 4]
    assert [CATEGORIES[c] for c in found.category.tolist()] == ["NEGATED", "OTHER", "POSSIBLE", "HYPOTHETICAL"]
    assert found.cue_match.tolist() == [0, 1, 2, 2] and found.max_scope.tolist() == [-1, 3, -1, 2]
    # the pseudo-trigger consumes "b c d e"; nothing is left to match
    assert table.match("b c d e a".split(), np.array([0, 5])).start.size == 0
    # no phrase spans two texts
    assert table.match("x a b".split(), np.array([0, 2, 3])).start.size == 0


def test_batch_context_equals_the_per_text_engine_on_real_notes():
    path = SHARED_DATA / "mtsamples" / "mtsamples.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    with open(path, encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)][:120]
    assert assert_batch_equals_per_text(texts, per_text=40, seed=5)[0] > 2000


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


def test_known_runs_count_vocabulary_words_within_one_text():
    rng = np.random.default_rng(4)
    for _ in range(50):
        n = int(rng.integers(0, 40))
        ids = np.where(rng.random(n) < 0.7, rng.integers(0, 9, n), -1)
        cuts = np.sort(rng.integers(0, n + 1, size=int(rng.integers(0, 6))))
        text_offsets = np.concatenate(([0], cuts, [n])).astype(np.int64)  # empty texts too
        text = np.searchsorted(text_offsets, np.arange(n), side="right") - 1
        expected = []
        for i in range(n):
            j = i
            while j < n and ids[j] >= 0 and text[j] == text[i]:
                j += 1
            expected.append(j - i)
        assert _known_runs(ids, text_offsets).tolist() == expected
