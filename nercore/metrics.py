"""Strict entity-level precision, recall and F1 (type and exact span must match)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

Span = tuple[str, int, int]


def _prf(tp: int, n_pred: int, n_gold: int) -> dict:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": n_gold}


def strict_scores(
    gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[Span]], types: Iterable[str] | None = None
) -> dict:
    """Micro-averaged scores overall and per type.

    Args:
        gold, predicted: per document, the entity spans ``(type, start, end)``.
        types: score only these types (others are dropped from both sides); None keeps all.

    Returns:
        ``{"overall": {...}, "per_type": {type: {...}}}``, each with precision, recall, f1, support.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"expected as many predicted documents as gold ({len(gold)}), got {len(predicted)}")
    keep = None if types is None else set(types)
    tp, n_gold, n_pred = Counter(), Counter(), Counter()
    for g_doc, p_doc in zip(gold, predicted):
        g = {s for s in g_doc if keep is None or s[0] in keep}
        p = {s for s in p_doc if keep is None or s[0] in keep}
        for s in g:
            n_gold[s[0]] += 1
        for s in p:
            n_pred[s[0]] += 1
        for s in g & p:
            tp[s[0]] += 1
    all_types = sorted(set(n_gold) | set(n_pred) | (keep or set()))
    return {
        "overall": _prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values())),
        "per_type": {t: _prf(tp[t], n_pred[t], n_gold[t]) for t in all_types},
    }
