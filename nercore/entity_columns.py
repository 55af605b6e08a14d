"""The entities of many texts as columns: what ``Tagger.tag_columns`` returns and the job writes.

One ``EntityColumns`` holds every entity of a call, ordered by text and position, as arrays (and
lists where values are strings or candidates). ``Entity`` objects are built from it only for the
Python API (``EntityColumns.entities``), so that a job never builds an object per entity and reads
its fields back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from nercore.context.engine import ContextColumns
from nercore.context.rules import ATTRIBUTE_VALUES
from nercore.entity import Entity
from nercore.gc_pause import paused_gc


@dataclass(frozen=True, kw_only=True)
class LinkedCodes:
    """What the ICD-10-CM linker set on each entity (None / () for entities of other types)."""

    icd10cm_code: list[str | None]
    icd10cm_score: list[float | None]
    codes: list[tuple]  # ranked ``CodeCandidate``s, best first


@dataclass(frozen=True, kw_only=True)
class EntityColumns:
    """Entities of ``texts`` texts, ordered by text, then as the tagger found them."""

    texts: int  # how many texts the columns cover (some may have no entity)
    text: np.ndarray  # int64 (entities,): the entity's text, ascending
    entity_type: list[str]
    start_char: np.ndarray  # int64 (entities,)
    end_char: np.ndarray  # int64 (entities,)
    score: np.ndarray  # float64 (entities,)
    context: ContextColumns | None = None  # None: context not computed
    linked: LinkedCodes | None = None  # None: not linked

    def __post_init__(self) -> None:
        n = self.text.size
        sizes = [len(self.entity_type), self.start_char.size, self.end_char.size, self.score.size]
        if self.context is not None:
            sizes.append(len(self.context))
        if self.linked is not None:
            sizes.append(len(self.linked.codes))
        if any(size != n for size in sizes):
            raise ValueError(f"expected columns of {n} entities, got lengths {sizes}")

    def __len__(self) -> int:
        return self.text.size

    def bounds(self) -> np.ndarray:
        """Where each text's entities start, and the end: shape (texts + 1,)."""
        return np.searchsorted(self.text, np.arange(self.texts + 1))

    def counts(self) -> np.ndarray:
        """Entities per text: shape (texts,)."""
        return np.diff(self.bounds())

    def context_values(self, attribute: str) -> list[str | None]:
        """One context attribute per entity as strings (``None`` each when context was not computed)."""
        if self.context is None:
            return [None] * len(self)
        if attribute == "section":
            return list(self.context.section)
        return self.context.values(attribute)

    def slice_rows(self, rows: np.ndarray) -> EntityColumns:
        """The entities at ``rows`` (ascending), of the same texts."""
        pick = rows.tolist()
        context = self.context
        if context is not None:
            context = ContextColumns(
                negation=context.negation[rows],
                temporality=context.temporality[rows],
                experiencer=context.experiencer[rows],
                section=[context.section[i] for i in pick],
            )
        linked = self.linked
        if linked is not None:
            linked = LinkedCodes(
                icd10cm_code=[linked.icd10cm_code[i] for i in pick],
                icd10cm_score=[linked.icd10cm_score[i] for i in pick],
                codes=[linked.codes[i] for i in pick],
            )
        return EntityColumns(
            texts=self.texts,
            text=self.text[rows],
            entity_type=[self.entity_type[i] for i in pick],
            start_char=self.start_char[rows],
            end_char=self.end_char[rows],
            score=self.score[rows],
            context=context,
            linked=linked,
        )

    def slice_texts(self, lo: int, hi: int) -> EntityColumns:
        """The entities of texts ``lo`` to ``hi`` (exclusive), their text indices from 0."""
        a, b = np.searchsorted(self.text, [lo, hi]).tolist()
        picked = self.slice_rows(np.arange(a, b))
        return replace(picked, texts=hi - lo, text=picked.text - lo)

    @classmethod
    def from_entities(cls, entities: Sequence[Sequence[Entity]], *, context: bool, linked: bool) -> EntityColumns:
        """Columns of ``Entity`` lists, one per text (for entities from elsewhere than ``Tagger``).

        Raises:
            ValueError: with ``context``, if an entity's context is not set (a value not in ``ATTRIBUTE_VALUES``).
        """
        flat = [e for per_text in entities for e in per_text]
        text = np.repeat(np.arange(len(entities), dtype=np.int64), [len(per_text) for per_text in entities])
        columns = None
        if context:
            codes = {}
            for attribute, values in ATTRIBUTE_VALUES.items():
                got = [getattr(e, attribute) for e in flat]
                bad = [v for v in got if v not in values]
                if bad:
                    raise ValueError(f"expected {attribute} in {', '.join(values)}, got {bad[0]!r}")
                codes[attribute] = np.array([values.index(v) for v in got], dtype=np.int8)
            columns = ContextColumns(**codes, section=[e.section for e in flat])
        codes_set = None
        if linked:
            codes_set = LinkedCodes(
                icd10cm_code=[e.icd10cm_code for e in flat],
                icd10cm_score=[e.icd10cm_score for e in flat],
                codes=[e.codes for e in flat],
            )
        return cls(
            texts=len(entities),
            text=text,
            entity_type=[e.entity_type for e in flat],
            start_char=np.array([e.start_char for e in flat], dtype=np.int64),
            end_char=np.array([e.end_char for e in flat], dtype=np.int64),
            score=np.array([e.score for e in flat], dtype=np.float64),
            context=columns,
            linked=codes_set,
        )

    def with_codes(self, linked: LinkedCodes) -> EntityColumns:
        return replace(self, linked=linked)

    def mentions(self, texts: Sequence[str]) -> list[str]:
        """Each entity's text, ``texts[text][start_char:end_char]``."""
        return [texts[t][a:b] for t, a, b in zip(self.text.tolist(), self.start_char.tolist(), self.end_char.tolist())]

    @paused_gc()
    def entities(self, texts: Sequence[str]) -> list[list[Entity]]:
        """One list of ``Entity`` per text (the Python API's records), built with the garbage
        collector paused (``nercore.gc_pause``)."""
        rows = zip(self.entity_type, self.start_char.tolist(), self.end_char.tolist(), self.mentions(texts))
        scores = self.score.tolist()
        if self.context is None:
            made = [
                Entity(entity_type=kind, start_char=start, end_char=end, text=text, score=score)
                for (kind, start, end, text), score in zip(rows, scores)
            ]
        else:
            contexts = self.context.contexts()  # shared objects: few distinct values
            made = [
                Entity(
                    entity_type=kind,
                    start_char=start,
                    end_char=end,
                    text=text,
                    score=score,
                    negation=c.negation,
                    temporality=c.temporality,
                    experiencer=c.experiencer,
                    section=c.section,
                )
                for (kind, start, end, text), score, c in zip(rows, scores, contexts)
            ]
        if self.linked is not None:
            linked = zip(self.linked.icd10cm_code, self.linked.icd10cm_score, self.linked.codes)
            made = [
                replace(e, icd10cm_code=code, icd10cm_score=score, codes=codes) if codes else e
                for e, (code, score, codes) in zip(made, linked)
            ]
        bounds = self.bounds().tolist()
        return [made[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def concat_columns(parts: Sequence[EntityColumns]) -> EntityColumns:
    """The columns of consecutive calls as one: texts of ``parts[1]`` follow those of ``parts[0]``."""
    if not parts:
        raise ValueError("expected at least one EntityColumns, got none")
    offsets = np.cumsum([0] + [p.texts for p in parts[:-1]])
    contexts = [p.context for p in parts]
    linked = [p.linked for p in parts]
    context = None
    if all(c is not None for c in contexts):
        context = ContextColumns(
            negation=np.concatenate([c.negation for c in contexts]),
            temporality=np.concatenate([c.temporality for c in contexts]),
            experiencer=np.concatenate([c.experiencer for c in contexts]),
            section=[s for c in contexts for s in c.section],
        )
    elif any(c is not None for c in contexts):
        raise ValueError("expected context in all parts or in none")
    codes = None
    if all(k is not None for k in linked):
        codes = LinkedCodes(
            icd10cm_code=[x for k in linked for x in k.icd10cm_code],
            icd10cm_score=[x for k in linked for x in k.icd10cm_score],
            codes=[x for k in linked for x in k.codes],
        )
    elif any(k is not None for k in linked):
        raise ValueError("expected codes in all parts or in none")
    return EntityColumns(
        texts=sum(p.texts for p in parts),
        text=np.concatenate([p.text + o for p, o in zip(parts, offsets.tolist())]).astype(np.int64),
        entity_type=[t for p in parts for t in p.entity_type],
        start_char=np.concatenate([p.start_char for p in parts]).astype(np.int64),
        end_char=np.concatenate([p.end_char for p in parts]).astype(np.int64),
        score=np.concatenate([p.score for p in parts]).astype(np.float64),
        context=context,
        linked=codes,
    )
