"""Words and sentences of many texts at once, as the context engine sees them (array operations).

The texts of a batch are joined into one string with a three-character separator, so that one
regular-expression pass and a few numpy operations find every word and sentence start of every
text; offsets in the joined string are a text's own offsets plus the text's start. The results
equal those of splitting each text alone (``tests/context/reference_context.py`` keeps the per-text
loop as the oracle):

* ``SEPARATOR`` is whitespace, so no word spans two texts, and a blank line, so each text's first
  word starts a sentence (as it does alone);
* ``HEADER_SEPARATOR`` has the same length and holds a NUL between its newlines, so that a
  section header's ``\\s+`` between words cannot reach into the next text.

Words (``context_rules.WORD``): runs of word characters joined by inner apostrophes, or single
characters that are neither word characters nor whitespace.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from nercore.context.rules import YEAR

SEPARATOR = "\n\n\n"
HEADER_SEPARATOR = "\n\x00\n"
# A period after these words does not end a sentence.
ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "st", "vs", "e.g", "i.e", "approx", "fig", "no", "pt", "sr", "jr"})
_LONGEST_ABBREVIATION = max(map(len, ABBREVIATIONS))
# After ".", "!" or "?" and a space, a word starting with one of these (or a capital, or a number)
# starts a new sentence.
_SENTENCE_OPENERS = "*-•(\"'<"

_WORD_CHAR = re.compile(r"\w")
_APOSTROPHE, _NEWLINE, _RIGHT_PAREN = ord("'"), ord("\n"), ord(")")

# Character flags: one lookup classifies every character of a batch.
WORD_CHAR, SPACE, DIGIT, UPPER, OPENER, STOP = 1, 2, 4, 8, 16, 32


def _flags(c: str) -> int:
    return (
        WORD_CHAR * (_WORD_CHAR.match(c) is not None)
        | SPACE * c.isspace()
        | DIGIT * c.isdigit()
        | UPPER * c.isupper()
        | OPENER * (c in _SENTENCE_OPENERS)
        | STOP * (c in ".!?")
    )


_ASCII_FLAGS = np.array([_flags(chr(c)) for c in range(128)], dtype=np.uint8)


def char_flags(codes: np.ndarray, ascii_only: bool = False) -> np.ndarray:
    """The flags of each code point: a table lookup for ASCII, one call per distinct other
    character (skipped when the caller knows the text is ASCII)."""
    # shape: codes (chars,) uint32 → (chars,) uint8
    out = _ASCII_FLAGS[np.minimum(codes, 127)]
    wide = None if ascii_only else np.flatnonzero(codes > 127)
    if wide is not None and wide.size:
        distinct, inverse = np.unique(codes[wide], return_inverse=True)
        out[wide] = np.array([_flags(chr(c)) for c in distinct.tolist()], dtype=np.uint8)[inverse]
    return out


@dataclass(frozen=True)
class JoinedTexts:
    """Texts joined by ``SEPARATOR`` (and by ``HEADER_SEPARATOR`` for the header search)."""

    texts: Sequence[str]
    text: str
    header_text: str
    offsets: np.ndarray  # int64 (texts + 1,): each text's first character in ``text``; the last is len(text) + 3

    @property
    def ends(self) -> np.ndarray:
        """One past each text's last character."""
        return self.offsets[1:] - len(SEPARATOR)


def join_texts(texts: Sequence[str]) -> JoinedTexts:
    lengths = np.fromiter((len(t) + len(SEPARATOR) for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return JoinedTexts(texts, SEPARATOR.join(texts), HEADER_SEPARATOR.join(texts), offsets)


@dataclass(frozen=True)
class Words:
    """The words of joined texts, in order."""

    start: np.ndarray  # int64 (words,): first character in the joined text
    end: np.ndarray  # int64 (words,): one past the last character
    is_num: np.ndarray  # bool (words,): the norm is "<num>"
    is_number: np.ndarray  # bool (words,): the norm is "<num>" or "<year>"
    text_offsets: np.ndarray  # int64 (texts + 1,): each text's first word; the last is the word count
    codes: np.ndarray  # uint32 (chars,): the joined text's code points
    flags: np.ndarray  # uint8 (chars,): ``char_flags`` of each
    text: str  # the joined text
    # uint32 (chars,): the code points of the joined text lower-cased one character for one, so that
    # a word's norm is these codes at its span (unless a number); None where final sigma or "İ"
    # rule that out (then only ``norms`` gives them).
    lowered_codes: np.ndarray | None

    @cached_property
    def norms(self) -> list[str]:
        """Each word as triggers match it (``context_rules.normalise_word``), as strings."""
        bounds = zip(self.start.tolist(), self.end.tolist())
        if self.lowered_codes is not None:
            lowered = self.text.lower()
            norms = [lowered[a:b] for a, b in bounds]
        else:
            # "\n" is in no word and is neither cased nor case-ignorable, so lowering the joined
            # words equals lowering each word alone (final sigma included).
            raw = [self.text[a:b] for a, b in bounds]
            norms = "\n".join(raw).lower().split("\n") if raw else []
        is_year = self.is_number & ~self.is_num
        for i in np.flatnonzero(self.is_number).tolist():
            norms[i] = "<year>" if is_year[i] else "<num>"
        return norms


def split_words(joined: JoinedTexts) -> Words:
    """Every word of every text, with what its normalised form needs."""
    ascii_only = joined.text.isascii()
    codes = np.frombuffer(joined.text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    flags = char_flags(codes, ascii_only)
    is_word, is_space = (flags & WORD_CHAR) > 0, (flags & SPACE) > 0
    before = np.concatenate(([False], is_word[:-1]))
    after = np.concatenate((is_word[1:], [False]))
    in_run = is_word | ((codes == _APOSTROPHE) & before & after)  # "doesn't" is one word
    single = ~in_run & ~is_space  # punctuation: a word of one character
    run_before = np.concatenate(([False], in_run[:-1]))
    run_after = np.concatenate((in_run[1:], [False]))
    start = np.flatnonzero((in_run & ~run_before) | single)
    end = np.flatnonzero((in_run & ~run_after) | single) + 1
    lowered_codes = None
    if ascii_only or ("\u03a3" not in joined.text and "\u0130" not in joined.text):
        # Lower-casing is one character for one and context-free but for final sigma and "İ"
        # (the one character whose lower case is two): without them, the lowered text's codes at
        # a word's span are the word lowered.
        lowered = joined.text.lower()
        lowered_codes = (
            np.frombuffer(lowered.encode("ascii"), dtype=np.uint8).astype(np.uint32)
            if ascii_only
            else np.frombuffer(lowered.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        )
    digits = np.zeros(codes.size + 1, dtype=np.int64)
    np.cumsum((flags & DIGIT) > 0, out=digits[1:])
    number = digits[end] - digits[start] == end - start  # str.isdigit of the word
    year = np.zeros(start.size, dtype=bool)
    for i in np.flatnonzero(number & (end - start == 4)).tolist():
        year[i] = YEAR.fullmatch(joined.text[start[i] : end[i]]) is not None
    text_offsets = np.searchsorted(start, joined.offsets).astype(np.int64)
    return Words(
        start=start.astype(np.int64),
        end=end.astype(np.int64),
        is_num=number & ~year,
        is_number=number,
        text_offsets=text_offsets,
        codes=codes,
        flags=flags,
        text=joined.text,
        lowered_codes=lowered_codes,
    )


def sentence_starts(words: Words, section_starts: np.ndarray) -> np.ndarray:
    """Sorted word indices where sentences start: each text's first word; after a blank line;
    a list item "2) ..."; after ".", "!" or "?" and a space when the next word opens a sentence
    (a capital, a number or one of ``*-•("'<``) and the period does not end an abbreviation
    ("Dr."); the first word of each section header (``section_starts``, character offsets)."""
    start, end, codes = words.start, words.end, words.codes
    n = start.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    newlines = np.zeros(codes.size + 1, dtype=np.int64)
    np.cumsum(codes == _NEWLINE, out=newlines[1:])
    gap = start[1:] > end[:-1]  # (words - 1,): whitespace between word i and i + 1
    blank_line = newlines[start[1:]] - newlines[end[:-1]] >= 2  # the gap holds only whitespace
    first, first_flags = codes[start], words.flags[start]
    single = (end - start) == 1
    is_num, is_number = words.is_num, words.is_number
    list_item = np.zeros(n - 1, dtype=bool)
    if n > 2:
        list_item[:-1] = gap[:-1] & is_num[1:-1] & single[2:] & (first[2:] == _RIGHT_PAREN) & (start[2:] == end[1:-1])
    opener = ((first_flags & (UPPER | OPENER)) > 0) | is_number
    stop = single & ((first_flags & STOP) > 0)
    sentence_end = stop[:-1] & gap & opener[1:]
    # ". " after an abbreviation written against it ("Dr.", "e.g.") is not a sentence end
    period = np.flatnonzero(sentence_end & (first[:-1] == ord(".")))
    period = period[period > 0]
    attached = period[
        (end[period - 1] == start[period]) & (end[period - 1] - start[period - 1] <= _LONGEST_ABBREVIATION)
    ]
    for i, a, b in zip(attached.tolist(), start[attached - 1].tolist(), end[attached - 1].tolist()):
        if words.text[a:b].lower() in ABBREVIATIONS:  # a number's norm is none of them, nor its digits
            sentence_end[i] = False
    after = np.flatnonzero(blank_line | list_item | sentence_end) + 1
    heads = np.searchsorted(start, section_starts)
    starts = np.unique(np.concatenate((words.text_offsets[:-1], after, heads)))
    return starts[starts < n]
