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

from nercore.context.rules import DEFAULTS, TRIGGER_CATEGORIES, ContextRules, Trigger
from nercore.context.sections import Section, SectionFinder
from nercore.context.words import Words, join_texts, sentence_starts, split_words
from nercore.entity import Entity


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
        # first word → [(length, {words: triggers})], longest first: only lengths that exist are tried
        by_first: dict[str, dict[int, dict]] = {}
        for words, triggers in self.rules.by_words.items():
            by_first.setdefault(words[0], {}).setdefault(len(words), {})[words] = triggers
        self._by_first = {w: sorted(tables.items(), reverse=True) for w, tables in by_first.items()}

    def find(self, text: str, spans: Sequence[tuple[int, int]]) -> list[Context]:
        """One ``Context`` per ``(start_char, end_char)`` span of ``text``, in order."""
        if not spans:
            return []
        starts, ends = zip(*spans)
        return self.find_batch([text], np.zeros(len(spans), dtype=np.int64), np.asarray(starts), np.asarray(ends))

    def find_batch(self, texts: Sequence[str], text: np.ndarray, start: np.ndarray, end: np.ndarray) -> list[Context]:
        """One ``Context`` per span of many texts at once: span ``i`` is
        ``texts[text[i]][start[i]:end[i]]``. Words, sentences, sections and trigger matches of
        all texts are found in one pass over the joined texts (``nercore.context.words``).

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
            return []
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
        matches = self._matches(words)
        match_starts = np.array([m.start for m in matches], dtype=np.int64)

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
        lo, hi = np.searchsorted(match_starts, s0), np.searchsorted(match_starts, s1)
        k = np.searchsorted(section_starts, g_start, side="right") - 1
        has_section = (
            (k >= 0) & (section_starts[np.maximum(k, 0)] >= joined.offsets[local])
            if sections
            else np.zeros(text.size, dtype=bool)
        )
        return [
            self._context(matches[a:b], f, la, e, sections[j] if h else None)
            for a, b, f, la, e, j, h in zip(
                lo.tolist(), hi.tolist(), first.tolist(), last.tolist(), s1.tolist(), k.tolist(), has_section.tolist()
            )
        ]

    def apply(self, text: str, entities: Sequence[Entity]) -> list[Entity]:
        """``entities`` of ``text`` with their context fields set (offsets unchanged)."""
        contexts = self.find(text, [(e.start_char, e.end_char) for e in entities])
        return [
            replace(e, negation=c.negation, temporality=c.temporality, experiencer=c.experiencer, section=c.section)
            for e, c in zip(entities, contexts)
        ]

    # -- stages ------------------------------------------------------------------------------
    def _matches(self, words: Words) -> list[_Match]:
        """Trigger matches over the words of each text, longest first, no overlap, none across
        texts; pseudo-triggers consume their words and are dropped."""
        out = []
        by_first, norms = self._by_first, words.norms
        candidates = np.array([i for i, w in enumerate(norms) if w in by_first], dtype=np.int64)
        limits = words.text_offsets[
            np.searchsorted(words.text_offsets, candidates, side="right")
        ]  # each one's text end
        resume = 0
        for i, limit in zip(candidates.tolist(), limits.tolist()):
            if i < resume:
                continue  # inside the last match
            for length, table in by_first[norms[i]]:
                triggers = table.get(tuple(norms[i : i + length])) if i + length <= limit else None
                if triggers:
                    if triggers[0].category != "PSEUDO":
                        out.append(_Match(i, i + length, tuple(triggers)))
                    resume = i + length
                    break
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


@lru_cache(maxsize=1)
def default_finder() -> ContextFinder:
    """The finder with the shipped rules (loaded once per process)."""
    return ContextFinder()


def compute_context(text: str, spans: Sequence[tuple[int, int]], rules: ContextRules | None = None) -> list[Context]:
    """One ``Context`` per ``(start_char, end_char)`` span of ``text`` (the shipped rules when
    ``rules`` is None): context for spans from any tagger."""
    finder = default_finder() if rules is None else ContextFinder(rules)
    return finder.find(text, spans)
