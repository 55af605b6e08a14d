"""Section headers of a clinical note: where each section starts and its normalised name.

A header is recognised when its words (``SectionRule.header``) are

* followed by ":" at the start of a line, at the start of the text or after a sentence's end
  (".", ",", ";" or ":" before it, as in MTSamples' "...,PAST MEDICAL HISTORY:,"), in any case;
* followed by ":" anywhere when written in upper case ("...   CLINICAL HISTORY:  Patient");
* alone on their own line, in upper or title case ("Family History" + newline).

An upper-case header that is not listed ("ANESTHESIA:") also starts a section, named by its
words in lower case joined by "_", so that the section before it ends there.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from nercore.context.rules import SectionRule
from nercore.context.words import HEADER_SEPARATOR

# Up to six upper-case words before a colon; ``_unlisted`` checks that they sit at a line start
# or after a sentence's end. (One pattern with those anchors in front is 6x slower: the regex
# engine can then no longer skip ahead to the next capital letter.)
_UNLISTED_WORDS = re.compile(r"([A-Z][A-Z0-9&/\-]*(?:[ \t]+[A-Z0-9&/\-]+){0,5})(?:\((?:E?S)\))?[ \t]*:(?!\d)")


_COLON = re.compile(r"(?:\((?:e?s)\))?[ \t]*:", re.I)

# What follows any header's words: its colon, or only whitespace to the end of its line (the
# ``HEADER_SEPARATOR`` between joined texts starts with a newline). ``SectionFinder._is_header``
# needs one or the other, so a match without it is dropped at once: most matches of header words
# in running text ("history of", "plan to") end there, at one regex call each.
_HEADER_TAIL = re.compile(rf"{_COLON.pattern}|[^\S\n]*(?:\n|\Z)", re.I)


@dataclass(frozen=True)
class Section:
    """A header found in a text: ``text[start:header_end]`` is the header (with its colon)."""

    start: int
    header_end: int
    name: str
    implies: tuple[tuple[str, str], ...]


def _words_pattern(header: str) -> str:
    return r"\s+".join(re.escape(w) for w in header.split())


def header_trie(headers) -> str:
    """One regular expression for all ``headers`` (words separated by any whitespace) as a
    character trie. At any position it matches the longest header that fits, as an
    alternation sorted longest first would, but tests each character once instead of once per
    header (2.4x faster on the MTSamples notes)."""
    root: dict = {}
    for header in headers:
        node = root
        for piece in re.findall(r"\S|\s+", " ".join(header.split())):
            node = node.setdefault(r"\s+" if piece.isspace() else re.escape(piece), {})
        node[""] = {}  # a header ends here

    def emit(node: dict) -> str:
        parts = [key + emit(node[key]) for key in sorted(k for k in node if k)]
        if not parts:
            return ""
        body = parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"
        return f"(?:{body})?" if "" in node else body  # greedy: the longer header first

    return emit(root) or r"(?!)"


def _unlisted(text: str, starts: Sequence[int]):
    """Matches of ``_UNLISTED_WORDS`` that start a line (after spaces or tabs), follow one of
    ``\\n.,;:`` or two whitespace characters, or start their text (``starts``: where each text
    starts in ``text``): as ``finditer`` of one pattern with those anchors in front would give
    them for each text alone."""
    pos = 0
    while (m := _UNLISTED_WORDS.search(text, pos)) is not None:
        q = run = m.start()
        lo = starts[bisect.bisect_right(starts, q) - 1]
        while run > lo and text[run - 1] in " \t":
            run -= 1  # the spaces and tabs before the capital
        anchored = (
            q - run >= 2
            or run == lo
            or text[run - 1] in "\n.,;:"
            or (q > run and text[run - 1].isspace())
            or (run - 2 >= lo and text[run - 2].isspace() and text[run - 1].isspace())
        )
        if anchored:
            yield m
        pos = m.end() if anchored else q + 1


class SectionFinder:
    """Finds the headers of ``rules`` in texts (build once, use for many texts)."""

    def __init__(self, rules: tuple[SectionRule, ...]):
        self._rules = {" ".join(r.header.split()): r for r in rules}
        self._ascii_headers = all(header.isascii() for header in self._rules)

    @cached_property
    def _pattern(self) -> re.Pattern:
        return re.compile(rf"(?<![\w/])(?:{header_trie(self._rules)})(?![\w/])", re.I)

    @cached_property
    def _lower_pattern(self) -> re.Pattern:
        # The same headers without re.I, for lower-cased ASCII text: about 2x faster, because
        # case-insensitive matching defeats the regex engine's literal checks.
        return re.compile(rf"(?<![\w/])(?:{header_trie(self._rules)})(?![\w/])")

    def find(self, text: str) -> list[Section]:
        """The headers of ``text`` in order of position (none overlap)."""
        return self.find_all(text, [text], [0])

    def find_all(self, joined: str, texts: Sequence[str], starts: Sequence[int]) -> list[Section]:
        """The headers of several texts at once, in order of position in ``joined``; each as
        ``find`` gives it for its text alone, offsets in ``joined``.

        Args:
            joined: the texts joined by ``context_words.HEADER_SEPARATOR``, whose newline at
                each end and NUL between keep every header within its text.
            texts: the texts, in order.
            starts: where each text starts in ``joined`` (increasing).
        """
        found: dict[int, Section] = {}
        tail = _HEADER_TAIL.match
        for a, b in self._listed(joined, texts, starts):
            if tail(joined, b) is None:
                continue
            rule = self._rules.get(" ".join(joined[a:b].lower().split()))
            if rule is None:
                continue
            i = bisect.bisect_right(starts, a) - 1
            lo = starts[i]
            hi = lo + len(texts[i])
            if self._is_header(joined, a, b, lo, hi):
                end = _colon_end(joined, b, hi)
                found[a] = Section(a, end if end is not None else b, rule.section, rule.implies)
        listed = sorted(found)
        reach = (
            np.maximum.accumulate(np.array([found[k].header_end for k in listed], dtype=np.int64)) if listed else None
        )
        for m in _unlisted(joined, starts) if ":" in joined else ():
            start = m.start(1)
            i = bisect.bisect_right(listed, start) - 1
            if i >= 0 and start < reach[i]:
                continue  # inside a listed header
            words = m.group(1).split()
            if any(len(w) > 1 for w in words):
                name = re.sub(r"[^a-z0-9]+", "_", m.group(1).lower()).strip("_")
                found[start] = Section(start, m.end(), name, ())
        return [found[k] for k in sorted(found)]

    def _listed(self, joined: str, texts: Sequence[str], starts: Sequence[int]):
        """(match start, match end) for every listed header's words: all texts folded
        (``fold_case``) and searched together; or, when a header is not ASCII, ASCII texts
        lower-cased and searched together and others one by one with the case-insensitive pattern."""
        if self._ascii_headers:
            for m in self._lower_pattern.finditer(fold_case(joined)):
                yield m.span()
            return
        wide = [i for i, t in enumerate(texts) if not t.isascii()]
        if len(wide) < len(texts):
            blank = set(wide)  # searched below; blanked here so that offsets stay
            lowered = (
                joined.lower()
                if not wide
                else HEADER_SEPARATOR.join(" " * len(t) if i in blank else t.lower() for i, t in enumerate(texts))
            )
            for m in self._lower_pattern.finditer(lowered):
                yield m.span()
        for i in wide:
            lo = starts[i]
            for m in self._pattern.finditer(joined, lo, lo + len(texts[i])):
                yield m.span()

    @staticmethod
    def _is_header(text: str, start: int, end: int, lo: int = 0, hi: int | None = None) -> bool:
        """Whether the header words ``text[start:end]`` are a header, within the text ``text[lo:hi]``."""
        hi = len(text) if hi is None else hi
        words = text[start:end]
        line_start = max(text.rfind("\n", lo, start) + 1, lo)
        before = text[line_start:start]
        at_line_start = not before.strip(" \t-*•0123456789.)")
        if _colon_end(text, end, hi) is not None:
            previous = start - 1  # the last non-space character before the header
            while previous >= lo and text[previous].isspace():
                previous -= 1
            after_sentence = previous < lo or text[previous] in ".,;:!?"
            return at_line_start or after_sentence or words.isupper()
        line_end = text.find("\n", end, hi)
        alone = at_line_start and not text[end : hi if line_end < 0 else line_end].strip()
        return alone and (words.isupper() or words.istitle())


def fold_case(text: str) -> str:
    """``text`` lower-cased one character for one, with what ``re.I`` equates with an ASCII letter
    folded to that letter: so a pattern of lower-case ASCII headers (no re.I) matches the folded
    text where the case-insensitive pattern matches the original, at the same offsets.

    ``str.lower`` does that except for three letters the ``re`` docs name: İ, the one character
    whose lower case is two ("i" and a combining dot), and ı and ſ, which lower-case to
    themselves. (The Kelvin sign lower-cases to "k".) No lower-casing turns a word character into
    a non-word one or changes whitespace, so the pattern's boundaries hold too.
    """
    if text.isascii():
        return text.lower()
    return text.replace("\u0130", "I").lower().replace("\u0131", "i").replace("\u017f", "s")


def _colon_end(text: str, end: int, hi: int | None = None) -> int | None:
    """The offset after ``:`` if only spaces (or a plural "(s)"/"(es)") separate it from ``end``, else None."""
    m = _COLON.match(text, end, len(text) if hi is None else hi)
    return m.end() if m else None


def section_at(sections: list[Section], offset: int) -> Section | None:
    """The section whose header starts last at or before ``offset`` (None before the first)."""
    current = None
    for section in sections:
        if section.start > offset:
            break
        current = section
    return current
