"""Evaluate the ICD-10-CM linker on gold mention spans with gold codes.

``python -m nercore.evaluation.linking --documents PUBTATOR --gold TSV [--json] [--index DIR] [--ablate NAME]``

``PUBTATOR``: documents (title + " " + abstract). ``TSV``: columns ``pmid, start, end, mention,
concept_ids, icd10cm_codes`` (codes joined by "|"); mentions of other documents are ignored. The
gold spans are linked in their document. A predicted code is right if it equals a gold code or lies
below one in the ICD-10-CM hierarchy (C18.9 under C18); at category level only the first three
characters are compared. With ``--json`` stdout is exactly one JSON object:
``{"code": {"acc@1", "acc@5"}, "category": {"acc@1", "acc@5"}, "mentions": N}``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nercore.corpora.documents import DataError

if TYPE_CHECKING:
    from nercore.codes.linker import CodeLinker

GOLD_COLUMNS = ("pmid", "start", "end", "mention", "concept_ids", "icd10cm_codes")


@dataclass(frozen=True)
class GoldMention:
    doc_id: str
    start: int
    end: int
    codes: tuple[str, ...]


def read_gold(path: str | Path) -> list[GoldMention]:
    """Gold mentions from a TSV with ``GOLD_COLUMNS``; a missing column is one clear error."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        missing = [c for c in GOLD_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: expected columns {list(GOLD_COLUMNS)}, missing {missing}")
        out = []
        for number, row in enumerate(reader, 2):
            try:
                start, end = int(row["start"]), int(row["end"])
            except ValueError:
                raise DataError(f"{path}:{number}: expected integer offsets") from None
            codes = tuple(c for c in row["icd10cm_codes"].split("|") if c)
            if not codes:
                raise DataError(f"{path}:{number}: no gold code")
            out.append(GoldMention(row["pmid"], start, end, codes))
    return out


def is_under(predicted: str, gold: str) -> bool:
    """True if ``predicted`` is ``gold`` or a descendant of it (by the code's characters, which
    is how ICD-10-CM's hierarchy is built below the category: C18 > C18.9, E11.6 > E11.65)."""
    p, g = predicted.replace(".", ""), gold.replace(".", "")
    return p.startswith(g)


def accuracy(
    predictions: Sequence[Sequence[str]], golds: Sequence[Sequence[str]], k: int, category: bool = False
) -> float:
    """Share of mentions with a right code among the first ``k`` predictions."""
    if len(predictions) != len(golds):
        raise ValueError(f"expected one prediction list per gold mention, got {len(predictions)} for {len(golds)}")
    if not golds:
        return 0.0
    hits = 0
    for predicted, gold in zip(predictions, golds):
        if category:
            hits += any(p[:3] in {g[:3] for g in gold} for p in predicted[:k])
        else:
            hits += any(is_under(p, g) for p in predicted[:k] for g in gold)
    return hits / len(golds)


def scores(predictions: Sequence[Sequence[str]], golds: Sequence[Sequence[str]]) -> dict:
    return {
        "code": {
            "acc@1": round(accuracy(predictions, golds, 1), 4),
            "acc@5": round(accuracy(predictions, golds, 5), 4),
        },
        "category": {
            "acc@1": round(accuracy(predictions, golds, 1, True), 4),
            "acc@5": round(accuracy(predictions, golds, 5, True), 4),
        },
        "mentions": len(golds),
    }


def link_gold(
    linker: CodeLinker, documents: dict[str, str], gold: Iterable[GoldMention]
) -> tuple[list[list[str]], list[tuple[str, ...]], list[GoldMention]]:
    """Link each gold mention of a known document; (predicted codes, gold codes, mentions)."""
    by_doc: dict[str, list[GoldMention]] = {}
    for m in gold:
        if m.doc_id in documents:
            by_doc.setdefault(m.doc_id, []).append(m)
    doc_ids = sorted(by_doc)
    for doc_id in doc_ids:
        text = documents[doc_id]
        for m in by_doc[doc_id]:
            if not 0 <= m.start < m.end <= len(text):
                raise DataError(f"gold span {m.start}-{m.end} is outside document {doc_id} ({len(text)} characters)")
    linked = linker.link_many([documents[d] for d in doc_ids], [[(m.start, m.end) for m in by_doc[d]] for d in doc_ids])
    predictions, golds, mentions = [], [], []
    for doc_id, candidates in zip(doc_ids, linked):
        for m, cands in zip(by_doc[doc_id], candidates):
            predictions.append([c.code for c in cands])
            golds.append(m.codes)
            mentions.append(m)
    return predictions, golds, mentions
