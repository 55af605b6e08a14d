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

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from nercore.context.matching import TriggerTable
from nercore.context.rules import ATTRIBUTE_VALUES, ContextRules
from nercore.context.scopes import ATTRIBUTES, MentionWords, reached_values
from nercore.context.sections import SectionFinder
from nercore.context.words import join_texts, sentence_starts, split_words
from nercore.entity import Entity


@dataclass(frozen=True)
class Context:
    """The context of one mention (values as in the entity table)."""

    negation: str = "affirmed"  # affirmed | negated | possible
    temporality: str = "recent"  # recent | historical | hypothetical
    experiencer: str = "patient"  # patient | other
    section: str | None = None  # normalised section name; None before any header


@dataclass(frozen=True)
class ContextColumns:
    """The contexts of many mentions as columns: value codes into ``ATTRIBUTE_VALUES``."""

    negation: np.ndarray  # int8 (mentions,): 0 affirmed, 1 negated, 2 possible
    temporality: np.ndarray  # int8 (mentions,): 0 recent, 1 historical, 2 hypothetical
    experiencer: np.ndarray  # int8 (mentions,): 0 patient, 1 other
    section: list[str | None]  # normalised section name; None before any header

    def __len__(self) -> int:
        return self.negation.size

    def values(self, attribute: str) -> list[str]:
        """One attribute's values as strings (``attribute`` in ``ATTRIBUTE_VALUES``)."""
        names = ATTRIBUTE_VALUES[attribute]
        return [names[code] for code in getattr(self, attribute).tolist()]

    def contexts(self) -> list[Context]:
        """One ``Context`` per mention; equal contexts share one (immutable) object."""
        made: dict[tuple, Context] = {}
        names = [ATTRIBUTE_VALUES[a] for a in ATTRIBUTES]
        out = []
        for key in zip(self.negation.tolist(), self.temporality.tolist(), self.experiencer.tolist(), self.section):
            context = made.get(key)
            if context is None:
                n, t, e, section = key
                context = made[key] = Context(names[0][n], names[1][t], names[2][e], section)
            out.append(context)
        return out


class ContextFinder:
    """Computes context for spans of texts with one set of rules (build once, reuse).

    Args:
        rules: the trigger and section rules; None loads the shipped defaults.
    """

    def __init__(self, rules: ContextRules | None = None):
        self.rules = rules or ContextRules.load()
        self._sections = SectionFinder(self.rules.sections)
        self._triggers = TriggerTable(self.rules)
        self._implied_codes: dict[tuple, list[int]] = {}

    def find(self, text: str, spans: Sequence[tuple[int, int]]) -> list[Context]:
        """One ``Context`` per ``(start_char, end_char)`` span of ``text``, in order."""
        if not spans:
            return []
        starts, ends = zip(*spans)
        return self.find_batch([text], np.zeros(len(spans), dtype=np.int64), np.asarray(starts), np.asarray(ends))

    def find_batch(self, texts: Sequence[str], text: np.ndarray, start: np.ndarray, end: np.ndarray) -> list[Context]:
        """``find_columns`` as one ``Context`` per span."""
        return self.find_columns(texts, text, start, end).contexts()

    def find_columns(
        self, texts: Sequence[str], text: np.ndarray, start: np.ndarray, end: np.ndarray
    ) -> ContextColumns:
        """The contexts of spans of many texts at once: span ``i`` is ``texts[text[i]][start[i]:end[i]]``.
        Words, sentences, sections and trigger matches of all texts are found in one pass over the
        joined texts (``nercore.context.words``, ``nercore.context.matching``), and which trigger
        reaches which span with array operations over all spans (``nercore.context.scopes``).

        Raises:
            ValueError: if a span is not within its text, or the arrays differ in length.
        """
        # shape: text, start, end (spans,) integers
        text, start, end = (np.asarray(a, dtype=np.int64) for a in (text, start, end))
        if not text.shape == start.shape == end.shape or text.ndim != 1:
            raise ValueError(
                f"expected text, start and end of one length, got shapes {text.shape}, {start.shape}, {end.shape}"
            )
        if text.size == 0:
            return _no_columns()
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        bad = (text < 0) | (text >= len(texts))
        bad[~bad] = (start[~bad] < 0) | (start[~bad] > end[~bad]) | (end[~bad] > lengths[text[~bad]])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"expected spans with 0 <= start <= end <= len(text), got ({int(start[i])}, {int(end[i])}) for text "
                f"{int(text[i])}"
            )
        needed = np.unique(text)  # only texts with spans are read
        joined = join_texts([texts[i] for i in needed.tolist()])
        local = np.searchsorted(needed, text)
        words = split_words(joined)
        sections = self._sections.find_all(joined.header_text, joined.texts, joined.offsets[:-1].tolist())
        section_starts = np.array([s.start for s in sections], dtype=np.int64)
        sentences = sentence_starts(words, section_starts)
        matches = self._triggers.match_ids(self._triggers.word_ids(words), words.text_offsets)

        g_start, g_end = joined.offsets[local] + start, joined.offsets[local] + end  # in the joined text
        w0, w1 = words.text_offsets[local], words.text_offsets[local + 1]  # the text's words
        first = np.searchsorted(words.end, g_start, side="right")  # first word ending after start
        last = np.maximum(first, np.searchsorted(words.start, g_end))  # one past the last word starting before end
        s0 = (
            sentences[np.maximum(np.searchsorted(sentences, np.minimum(first, w1 - 1), side="right") - 1, 0)]
            if sentences.size
            else w0
        )
        s0 = np.maximum(s0, w0)
        i1 = np.searchsorted(sentences, np.maximum(first, last - 1), side="right")
        s1 = np.minimum(np.append(sentences, words.start.size)[i1], w1)
        values = reached_values(matches, MentionWords(first=first, last=last, sentence_start=s0, sentence_end=s1))
        k = np.searchsorted(section_starts, g_start, side="right") - 1
        has_section = (
            (k >= 0) & (section_starts[np.maximum(k, 0)] >= joined.offsets[local])
            if sections
            else np.zeros(text.size, dtype=bool)
        )
        section = np.where(has_section, k, -1)
        if sections:  # where no trigger set an attribute, the section may imply a value
            implied = np.array([self._implied(s.implies) for s in sections], dtype=np.int64)[np.maximum(section, 0)]
            values = np.where((values < 0) & (section >= 0)[:, None], implied, values)
        values[values < 0] = 0  # each attribute's default is its first value
        return ContextColumns(
            negation=values[:, 0].astype(np.int8),
            temporality=values[:, 1].astype(np.int8),
            experiencer=values[:, 2].astype(np.int8),
            section=[sections[j].name if j >= 0 else None for j in section.tolist()],
        )

    def apply(self, text: str, entities: Sequence[Entity]) -> list[Entity]:
        """``entities`` of ``text`` with their context fields set (offsets unchanged)."""
        contexts = self.find(text, [(e.start_char, e.end_char) for e in entities])
        return [
            replace(e, negation=c.negation, temporality=c.temporality, experiencer=c.experiencer, section=c.section)
            for e, c in zip(entities, contexts)
        ]

    def _implied(self, implies: tuple[tuple[str, str], ...]) -> list[int]:
        """A section's implied value code per attribute (-1: none)."""
        codes = self._implied_codes.get(implies)
        if codes is None:
            values = dict(implies)
            codes = [ATTRIBUTE_VALUES[a].index(values[a]) if a in values else -1 for a in ATTRIBUTES]
            self._implied_codes[implies] = codes
        return codes


def _no_columns() -> ContextColumns:
    empty = np.zeros(0, dtype=np.int8)
    return ContextColumns(negation=empty, temporality=empty, experiencer=empty, section=[])


@lru_cache(maxsize=1)
def default_finder() -> ContextFinder:
    """The finder with the shipped rules (loaded once per process)."""
    return ContextFinder()


def compute_context(text: str, spans: Sequence[tuple[int, int]], rules: ContextRules | None = None) -> list[Context]:
    """One ``Context`` per ``(start_char, end_char)`` span of ``text`` (the shipped rules when
    ``rules`` is None): context for spans from any tagger."""
    finder = default_finder() if rules is None else ContextFinder(rules)
    return finder.find(text, spans)
