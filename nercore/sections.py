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

import re
from dataclasses import dataclass
from functools import cached_property

from nercore.context_rules import SectionRule

# Up to six upper-case words before a colon, at a line start or after a sentence's end.
_UNLISTED = re.compile(r"(?:^|(?<=[\n.,;:])|(?<=\s\s))[ \t]*([A-Z][A-Z0-9&/\-]*(?:[ \t]+[A-Z0-9&/\-]+){0,5})(?:\((?:E?S)\))?[ \t]*:(?!\d)", re.M)


_COLON = re.compile(r"(?:\((?:e?s)\))?[ \t]*:", re.I)


@dataclass(frozen=True)
class Section:
    """A header found in a text: ``text[start:header_end]`` is the header (with its colon)."""

    start: int
    header_end: int
    name: str
    implies: tuple[tuple[str, str], ...]


def _words_pattern(header: str) -> str:
    return r"\s+".join(re.escape(w) for w in header.split())


class SectionFinder:
    """Finds the headers of ``rules`` in texts (build once, use for many texts)."""

    def __init__(self, rules: tuple[SectionRule, ...]):
        self._rules = {" ".join(r.header.split()): r for r in rules}

    @cached_property
    def _pattern(self) -> re.Pattern:
        headers = sorted(self._rules, key=len, reverse=True)  # longest first: "past medical history" before "history"
        alternatives = "|".join(_words_pattern(h) for h in headers) or r"(?!)"
        return re.compile(rf"(?<![\w/])(?:{alternatives})(?![\w/])", re.I)

    def find(self, text: str) -> list[Section]:
        """The headers of ``text`` in order of position (none overlap)."""
        found: dict[int, Section] = {}
        for m in self._pattern.finditer(text):
            rule = self._rules.get(" ".join(m.group(0).lower().split()))
            if rule is not None and self._is_header(text, m.start(), m.end()):
                end = _colon_end(text, m.end())
                found[m.start()] = Section(m.start(), end if end is not None else m.end(), rule.section, rule.implies)
        for m in _UNLISTED.finditer(text):
            start = m.start(1)
            if any(s.start <= start < s.header_end for s in found.values()):
                continue
            words = m.group(1).split()
            if any(len(w) > 1 for w in words):
                name = re.sub(r"[^a-z0-9]+", "_", m.group(1).lower()).strip("_")
                found[start] = Section(start, m.end(), name, ())
        return [found[k] for k in sorted(found)]

    @staticmethod
    def _is_header(text: str, start: int, end: int) -> bool:
        words = text[start:end]
        line_start = text.rfind("\n", 0, start) + 1
        before = text[line_start:start]
        at_line_start = not before.strip(" \t-*•0123456789.)")
        if _colon_end(text, end) is not None:
            previous = text[:start].rstrip()
            after_sentence = not previous or previous[-1] in ".,;:!?"
            return at_line_start or after_sentence or words.isupper()
        line_end = text.find("\n", end)
        alone = at_line_start and not text[end : len(text) if line_end < 0 else line_end].strip()
        return alone and (words.isupper() or words.istitle())


def _colon_end(text: str, end: int) -> int | None:
    """The offset after ``:`` if only spaces (or a plural "(s)"/"(es)") separate it from ``end``, else None."""
    m = _COLON.match(text, end)
    return m.end() if m else None


def section_at(sections: list[Section], offset: int) -> Section | None:
    """The section whose header starts last at or before ``offset`` (None before the first)."""
    current = None
    for section in sections:
        if section.start > offset:
            break
        current = section
    return current
