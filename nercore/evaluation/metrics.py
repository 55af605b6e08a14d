"""Strict entity-level precision, recall and F1 (type and exact span must match), as typed results."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

Span = tuple[str, int, int]


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1 of one entity type (or all of them), and its gold count."""

    precision: float
    recall: float
    f1: float
    support: int

    @classmethod
    def of(cls, tp: int, n_pred: int, n_gold: int) -> Scores:
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(precision=precision, recall=recall, f1=f1, support=n_gold)


@dataclass(frozen=True)
class Evaluation:
    """Micro-averaged scores over all types and per type: what every tagger scorer returns."""

    overall: Scores
    per_type: dict[str, Scores]

    def as_dict(self) -> dict:
        """``{"overall": {...}, "per_type": {type: {...}}}``: the JSON form (CLI, model card)."""
        return {"overall": asdict(self.overall), "per_type": {t: asdict(s) for t, s in self.per_type.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> Evaluation:
        return cls(overall=Scores(**data["overall"]), per_type={t: Scores(**s) for t, s in data["per_type"].items()})

    def rows(self) -> list[tuple[str, Scores]]:
        """Each type's scores, then ``("overall", ...)``: the rows of a score table."""
        return [*self.per_type.items(), ("overall", self.overall)]


def strict_scores(
    gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[Span]], types: Iterable[str] | None = None
) -> Evaluation:
    """Micro-averaged scores overall and per type.

    Args:
        gold, predicted: per document, the entity spans ``(type, start, end)``.
        types: score only these types (others are dropped from both sides); None keeps all.

    Raises:
        ValueError: gold and predicted do not have the same number of documents.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"expected as many predicted documents as gold ({len(gold)}), got {len(predicted)}")
    keep = None if types is None else set(types)
    tp, n_gold, n_pred = Counter(), Counter(), Counter()
    for g_doc, p_doc in zip(gold, predicted):
        g = {s for s in g_doc if keep is None or s[0] in keep}
        p = {s for s in p_doc if keep is None or s[0] in keep}
        n_gold.update(s[0] for s in g)
        n_pred.update(s[0] for s in p)
        tp.update(s[0] for s in g & p)
    all_types = sorted(set(n_gold) | set(n_pred) | (keep or set()))
    return Evaluation(
        overall=Scores.of(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values())),
        per_type={t: Scores.of(tp[t], n_pred[t], n_gold[t]) for t in all_types},
    )
