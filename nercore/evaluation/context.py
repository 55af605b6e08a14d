"""Score the context rules on a ConText-format TSV: ``python -m nercore.evaluation.context --data FILE [--json]``.

The file has seven tab-separated columns and no header: row id, annotator note, concept (lower
case), sentence (the concept in UPPER CASE within it), negation (Affirmed/Negated), temporality
(Recent/Historical/Not particular = hypothetical), experiencer (Patient/Family member/Other).
Each concept is located in its sentence (case-insensitive, any run of whitespace between its
words; the upper-case occurrence when there are several), context is computed for that span,
and each class is scored as the positive one. Unlocated rows count as affirmed/recent/patient.
Our "possible" counts as not negated (the set has no uncertainty class).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nercore.context.engine import Context, ContextFinder

GOLD_NEGATION = {"affirmed": "affirmed", "negated": "negated"}
GOLD_TEMPORALITY = {
    "recent": "recent",
    "historical": "historical",
    "not particular": "hypothetical",
    "hypothetical": "hypothetical",
}
GOLD_EXPERIENCER = {"patient": "patient", "family member": "other", "other": "other"}


@dataclass(frozen=True)
class Row:
    row_id: str
    concept: str
    sentence: str
    negation: str
    temporality: str
    experiencer: str


def read_rows(path: Path) -> list[Row]:
    """The rows of a ConText TSV.

    Raises:
        ValueError: a line without seven columns or with an unknown label (file and line named).
    """
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != 7:
            raise ValueError(f"{path}:{number}: expected 7 tab-separated columns, got {len(cells)}")
        row_id, _note, concept, sentence, negation, temporality, experiencer = cells
        try:
            labels = (
                GOLD_NEGATION[negation.strip().lower()],
                GOLD_TEMPORALITY[temporality.strip().lower()],
                GOLD_EXPERIENCER[experiencer.strip().lower()],
            )
        except KeyError as err:
            raise ValueError(f"{path}:{number}: unknown label {err.args[0]!r}") from None
        rows.append(Row(row_id, concept, sentence, *labels))
    return rows


def locate(concept: str, sentence: str) -> tuple[int, int] | None:
    """The concept's span in the sentence: case-insensitive, flexible whitespace; of several
    occurrences the one written in upper case, else the first; on word boundaries where
    possible (the sentences have words run together: "RESECTIONto"). None when absent."""
    words = concept.split()
    if not words:
        return None
    body = r"\s+".join(re.escape(w) for w in words)
    found = list(re.finditer(r"(?<!\w)" + body + r"(?!\w)", sentence, re.I)) or list(re.finditer(body, sentence, re.I))
    if not found:
        return None
    upper = [m for m in found if m.group(0) == m.group(0).upper()]
    best = (upper or found)[0]
    return best.start(), best.end()


def prf(pairs: Iterable[tuple[bool, bool]]) -> dict:
    """Precision, recall, F1 and support of (predicted positive, gold positive) pairs."""
    tp = fp = fn = 0
    for predicted, gold in pairs:
        tp += predicted and gold
        fp += predicted and not gold
        fn += gold and not predicted
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}


def score(rows: Sequence[Row], predictions: Sequence[Context | None]) -> dict:
    """The report for gold ``rows`` and their predicted contexts (None: unlocated)."""
    predicted = [p or Context() for p in predictions]
    negation = ["negated" if p.negation == "negated" else "affirmed" for p in predicted]
    n = len(rows)
    return {
        "negated": prf((p == "negated", r.negation == "negated") for p, r in zip(negation, rows)),
        "historical": prf(
            (p.temporality == "historical", r.temporality == "historical") for p, r in zip(predicted, rows)
        ),
        "hypothetical": prf(
            (p.temporality == "hypothetical", r.temporality == "hypothetical") for p, r in zip(predicted, rows)
        ),
        "other_experiencer": prf((p.experiencer == "other", r.experiencer == "other") for p, r in zip(predicted, rows)),
        "accuracy": {
            "negation": sum(p == r.negation for p, r in zip(negation, rows)) / n if n else 0.0,
            "temporality": sum(p.temporality == r.temporality for p, r in zip(predicted, rows)) / n if n else 0.0,
            "experiencer": sum(p.experiencer == r.experiencer for p, r in zip(predicted, rows)) / n if n else 0.0,
        },
        "rows": n,
        "located": sum(p is not None for p in predictions),
    }


def evaluate(rows: Sequence[Row], finder: ContextFinder) -> tuple[dict, list[Context | None]]:
    spans = [locate(row.concept, row.sentence) for row in rows]
    located = [i for i, span in enumerate(spans) if span is not None]
    found = finder.find_batch(
        [rows[i].sentence for i in located],
        np.arange(len(located)),
        np.array([spans[i][0] for i in located], dtype=np.int64),
        np.array([spans[i][1] for i in located], dtype=np.int64),
    )
    predictions: list[Context | None] = [None] * len(rows)
    for i, context in zip(located, found):
        predictions[i] = context
    return score(rows, predictions), predictions


def format_report(report: dict) -> str:
    lines = [
        f"{report['located']} of {report['rows']} concepts located",
        "",
        f"{'class':<18} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>7}",
    ]
    for name in ("negated", "historical", "hypothetical", "other_experiencer"):
        r = report[name]
        lines.append(f"{name:<18} {r['precision']:>9.3f} {r['recall']:>7.3f} {r['f1']:>6.3f} {r['support']:>7}")
    lines.append("")
    lines.append("accuracy: " + ", ".join(f"{k} {v:.3f}" for k, v in report["accuracy"].items()))
    return "\n".join(lines)
