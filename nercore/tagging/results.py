"""What a ``Tagger`` call returns: per text (``TagResult``, the Python API) or as columns for many
texts at once (``TaggedTexts``, what the job writes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from nercore.entity import Entity
from nercore.entity_columns import EntityColumns, concat_columns
from nercore.gc_pause import paused_gc


@dataclass(frozen=True, kw_only=True)
class TagResult:
    """One text's entities, with how many windows and sub-words it took, the encoder's
    precision ("float32", "bfloat16", "int8") and the version of the model that tagged it."""

    entities: list[Entity]
    windows: int
    tokens: int
    precision: str = ""
    model_version: str = ""


@dataclass(frozen=True, kw_only=True)
class TaggedTexts:
    """The entities of many texts as columns, with each text's windows and sub-words."""

    columns: EntityColumns
    windows: np.ndarray  # int64 (texts,)
    tokens: np.ndarray  # int64 (texts,): sub-words, special tokens excluded
    precision: str = ""
    model_version: str = ""

    def __len__(self) -> int:
        return self.windows.size

    def slice(self, lo: int, hi: int) -> TaggedTexts:
        """The results of texts ``lo`` to ``hi`` (exclusive)."""
        return replace(
            self, columns=self.columns.slice_texts(lo, hi), windows=self.windows[lo:hi], tokens=self.tokens[lo:hi]
        )

    @classmethod
    def empty(
        cls, texts: int, *, context: bool, linked: bool, precision: str = "", model_version: str = ""
    ) -> TaggedTexts:
        """``texts`` texts without entities, windows or sub-words (notes that failed)."""
        return cls(
            columns=EntityColumns.from_entities([[]] * texts, context=context, linked=linked),
            windows=np.zeros(texts, dtype=np.int64),
            tokens=np.zeros(texts, dtype=np.int64),
            precision=precision,
            model_version=model_version,
        )

    @classmethod
    def from_results(cls, results: Sequence[TagResult], *, context: bool, linked: bool) -> TaggedTexts:
        """``TagResult``s (of one model and precision) as columns."""
        first = results[0] if results else TagResult(entities=[], windows=0, tokens=0)
        return cls(
            columns=EntityColumns.from_entities([r.entities for r in results], context=context, linked=linked),
            windows=np.array([r.windows for r in results], dtype=np.int64),
            tokens=np.array([r.tokens for r in results], dtype=np.int64),
            precision=first.precision,
            model_version=first.model_version,
        )

    @paused_gc()
    def results(self, texts: list[str]) -> list[TagResult]:
        """One ``TagResult`` per text, its entities built from the columns (the garbage collector
        paused, as in ``EntityColumns.entities``)."""
        entities = self.columns.entities(texts)
        return [
            TagResult(entities=e, windows=w, tokens=t, precision=self.precision, model_version=self.model_version)
            for e, w, t in zip(entities, self.windows.tolist(), self.tokens.tolist())
        ]


def concat_tagged(parts: list[TaggedTexts]) -> TaggedTexts:
    """Consecutive calls' results as one (texts in order)."""
    if not parts:
        raise ValueError("expected at least one TaggedTexts, got none")
    return TaggedTexts(
        columns=concat_columns([p.columns for p in parts]),
        windows=np.concatenate([p.windows for p in parts]).astype(np.int64),
        tokens=np.concatenate([p.tokens for p in parts]).astype(np.int64),
        precision=parts[0].precision,
        model_version=parts[0].model_version,
    )
