"""Clinical context of entity mentions: negated or possible, historical or hypothetical, someone
else's, and the note section they sit in (the ConText algorithm, with rules as data).

``ContextFinder(rules).find(text, spans)`` gives one ``Context`` per (start, end) span of
``text``; ``ContextFinder.apply(text, entities)`` returns the entities with their context
fields set. Neither changes offsets: spans come from any tagger.

How a trigger reaches an entity (``nercore/rules/context.tsv`` holds the phrases):

* the text is split into words (``context_rules.WORD``) and sentences (".", "!" or "?" followed
  by a space and a capital or digit, a blank line, or a section header);
* triggers are matched on words, longest first, without overlap: a pseudo-trigger ("no
  increase", "gram negative") consumes its words, so the shorter trigger inside it never fires;
* a forward trigger reaches the words after it, a backward one the words before it, up to the
  sentence's end, its ``max_scope`` or a terminator ("but", "however", ";", "who", ...) between
  trigger and entity, whichever comes first;
* a trigger that overlaps the entity's own words is ignored ("diverticulosis without
  diverticulitis" as one entity is affirmed);
* of the triggers that reach an entity, the nearest sets each attribute; where none does, the
  entity's section may imply a value (past medical history: historical; family history: other).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from nercore.context_rules import DEFAULTS, TRIGGER_CATEGORIES, WORD, ContextRules, Trigger, normalise_word
from nercore.entity import Entity
from nercore.sections import Section, SectionFinder, section_at

SENTENCE_END = frozenset({".", "!", "?"})
# A period after these words does not end a sentence.
ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "st", "vs", "e.g", "i.e", "approx", "fig", "no", "pt", "sr", "jr"})


@dataclass(frozen=True)
class Context:
    """The context of one mention (values as in the entity table)."""

    negation: str = "affirmed"  # affirmed | negated | possible
    temporality: str = "recent"  # recent | historical | hypothetical
    experiencer: str = "patient"  # patient | other
    section: str | None = None  # normalised section name; None before any header


@dataclass(frozen=True)
class _Match:
    start: int  # first word
    end: int  # one past the last word
    triggers: tuple[Trigger, ...]


class ContextFinder:
    """Computes context for spans of texts with one set of rules (build once, reuse).

    Args:
        rules: the trigger and section rules; None loads the shipped defaults.
    """

    def __init__(self, rules: ContextRules | None = None):
        self.rules = rules or ContextRules.load()
        self._sections = SectionFinder(self.rules.sections)
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

    def apply(self, text: str, entities: Sequence[Entity]) -> list[Entity]:
        """``entities`` of ``text`` with their context fields set (offsets unchanged)."""
        contexts = self.find(text, [(e.start_char, e.end_char) for e in entities])
        return [
            replace(e, negation=c.negation, temporality=c.temporality, experiencer=c.experiencer, section=c.section)
            for e, c in zip(entities, contexts)
        ]

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
            elif gap and nxt[2] == "<num>" and i + 2 < len(words) and words[i + 2][2] == ")" and words[i + 2][0] == nxt[1]:
                starts.add(i + 1)  # a list item "2) ..."
            elif norm in SENTENCE_END and gap and (nxt[2][0] in "*-•(\"'" or text[nxt[0]].isupper() or nxt[2][0] in "<"):
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

    def _context(self, matches: Sequence[_Match], first: int, last: int, sentence_end: int, section: Section | None) -> Context:
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
                if any(lo <= t_start and t_end <= hi and (not t.terminates or trigger.category in t.terminates) for t_start, t_end, t in terminators):
                    continue
                attribute, value = TRIGGER_CATEGORIES[trigger.category]
                if attribute not in best or distance < best[attribute][0]:
                    best[attribute] = (distance, value)
        values = {attribute: value for attribute, (_, value) in best.items()}
        if section is not None:
            for attribute, value in section.implies:
                values.setdefault(attribute, value)
        return Context(**{**DEFAULTS, **values}, section=section.name if section is not None else None)


@lru_cache(maxsize=1)
def default_finder() -> ContextFinder:
    """The finder with the shipped rules (loaded once per process)."""
    return ContextFinder()


def compute_context(text: str, spans: Sequence[tuple[int, int]], rules: ContextRules | None = None) -> list[Context]:
    """One ``Context`` per ``(start_char, end_char)`` span of ``text`` (the shipped rules when
    ``rules`` is None): context for spans from any tagger."""
    finder = default_finder() if rules is None else ContextFinder(rules)
    return finder.find(text, spans)
