"""Clinical context as it was computed before the array rewrites (issues 11 and 25): one text at a
time, a Python loop over its words and, per mention, over the triggers of its sentence. The oracle
that ``nercore.context.engine.ContextFinder.find_batch`` must equal exactly. Bodies are kept
verbatim from nercore/context.py and nercore/sections.py."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from nercore.context.engine import Context
from nercore.context.rules import (
    DEFAULTS,
    TRIGGER_CATEGORIES,
    WORD,
    ContextRules,
    SectionRule,
    Trigger,
    normalise_word,
)
from nercore.context.sections import Section, _words_pattern, section_at

_UNLISTED = re.compile(
    r"(?:^|(?<=[\n.,;:])|(?<=\s\s))[ \t]*([A-Z][A-Z0-9&/\-]*(?:[ \t]+[A-Z0-9&/\-]+){0,5})(?:\((?:E?S)\))?[ \t]*:(?!\d)",
    re.M,
)

SENTENCE_END = frozenset({".", "!", "?"})
ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "st", "vs", "e.g", "i.e", "approx", "fig", "no", "pt", "sr", "jr"})
_COLON = re.compile(r"(?:\((?:e?s)\))?[ \t]*:", re.I)


@dataclass(frozen=True)
class _Match:
    start: int  # first word
    end: int  # one past the last word
    triggers: tuple[Trigger, ...]


class OldSectionFinder:
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


class OldContextFinder:
    """Computes context for spans of texts with one set of rules (build once, reuse).

    Args:
        rules: the trigger and section rules; None loads the shipped defaults.
    """

    def __init__(self, rules: ContextRules | None = None):
        self.rules = rules or ContextRules.load()
        self._sections = OldSectionFinder(self.rules.sections)
        self._longest = self.rules.longest
        self._first_words = frozenset(words[0] for words in self.rules.by_words)

    def find(self, text: str, spans: Sequence[tuple[int, int]]) -> list[Context]:
        """One ``Context`` per ``(start_char, end_char)`` span of ``text``, in order."""
        if not spans:
            return []
        words = [(m.start(), m.end(), normalise_word(m.group(0))) for m in WORD.finditer(text)]
        starts = [w[0] for w in words]
        ends = [w[1] for w in words]
        sections = self._sections.find(text)
        sentence_starts = self._sentence_starts(text, words, sections)
        matches = self._matches([w[2] for w in words])
        match_starts = [m.start for m in matches]
        out = []
        for start, end in spans:
            first = bisect.bisect_right(ends, start)  # first word ending after start
            last = max(first, bisect.bisect_left(starts, end))  # one past the last word starting before end
            s0 = sentence_starts[bisect.bisect_right(sentence_starts, first) - 1]
            i1 = bisect.bisect_right(sentence_starts, max(first, last - 1))
            s1 = sentence_starts[i1] if i1 < len(sentence_starts) else len(words)
            lo, hi = bisect.bisect_left(match_starts, s0), bisect.bisect_left(match_starts, s1)
            section = section_at(sections, start)
            out.append(self._context(matches[lo:hi], first, last, s1, section))
        return out

    # -- stages ------------------------------------------------------------------------------
    def _sentence_starts(self, text: str, words: list[tuple[int, int, str]], sections: list[Section]) -> list[int]:
        """Word indices where sentences start (always 0 first)."""
        starts = {0}
        for i in range(len(words) - 1):
            w_start, w_end, norm = words[i]
            nxt = words[i + 1]
            gap = text[w_end : nxt[0]]
            if "\n" in gap and gap.count("\n") >= 2 and not gap.replace("\n", "").strip():
                starts.add(i + 1)  # a blank line
            elif (
                gap
                and nxt[2] == "<num>"
                and i + 2 < len(words)
                and words[i + 2][2] == ")"
                and words[i + 2][0] == nxt[1]
            ):
                starts.add(i + 1)  # a list item "2) ..."
            elif (
                norm in SENTENCE_END and gap and (nxt[2][0] in "*-•(\"'" or text[nxt[0]].isupper() or nxt[2][0] in "<")
            ):
                prev = words[i - 1] if i else None
                if not (norm == "." and prev is not None and prev[1] == w_start and prev[2] in ABBREVIATIONS):
                    starts.add(i + 1)
        word_starts = [w[0] for w in words]
        for section in sections:
            starts.add(bisect.bisect_left(word_starts, section.start))
        return sorted(s for s in starts if s < max(len(words), 1))

    def _matches(self, norms: list[str]) -> list[_Match]:
        """Trigger matches over the words, longest first, no overlap; pseudo-triggers consume
        their words and are dropped."""
        out = []
        by_words, first_words = self.rules.by_words, self._first_words
        i, n = 0, len(norms)
        while i < n:
            if norms[i] not in first_words:
                i += 1
                continue
            for length in range(min(self._longest, n - i), 0, -1):
                triggers = by_words.get(tuple(norms[i : i + length]))
                if triggers:
                    if triggers[0].category != "PSEUDO":
                        out.append(_Match(i, i + length, tuple(triggers)))
                    i += length
                    break
            else:
                i += 1
        return out

    def _context(
        self, matches: Sequence[_Match], first: int, last: int, sentence_end: int, section: Section | None
    ) -> Context:
        best: dict[str, tuple[int, str]] = {}  # attribute → (distance, value)
        terminators = [(m.start, m.end, t) for m in matches for t in m.triggers if t.category == "TERMINATE"]
        for m in matches:
            if m.end > first and m.start < last:
                continue  # a cue inside the entity itself
            for trigger in m.triggers:
                if trigger.category == "TERMINATE":
                    continue
                if m.end <= first and trigger.direction in ("forward", "both"):
                    lo, hi, distance = m.end, first, first - m.end
                elif m.start >= last and trigger.direction in ("backward", "both") and m.start < sentence_end:
                    lo, hi, distance = last, m.start, m.start - last
                else:
                    continue
                if trigger.max_scope is not None and distance >= trigger.max_scope:
                    continue
                if any(
                    lo <= t_start and t_end <= hi and (not t.terminates or trigger.category in t.terminates)
                    for t_start, t_end, t in terminators
                ):
                    continue
                attribute, value = TRIGGER_CATEGORIES[trigger.category]
                if attribute not in best or distance < best[attribute][0]:
                    best[attribute] = (distance, value)
        values = {attribute: value for attribute, (_, value) in best.items()}
        if section is not None:
            for attribute, value in section.implies:
                values.setdefault(attribute, value)
        return Context(**{**DEFAULTS, **values}, section=section.name if section is not None else None)
