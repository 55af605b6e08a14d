"""Score a tagger: strict entity-level P/R/F1 through ``Tagger.tag`` (imports no training code).

Each document's text is tagged as it is and predicted character spans must equal gold ones
exactly. CoNLL sentences are tagged as their tokens joined by single spaces; PubTator documents
as ``title + " " + abstract``. The command line is ``nercore.cli.evaluate``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Protocol

from tqdm import tqdm

from nercore.corpora.documents import Document, Sentence
from nercore.entity import Entity
from nercore.evaluation.metrics import Evaluation, strict_scores

CHUNK = 512  # texts per Tagger.tag call, so progress can be shown


class TextTagger(Protocol):
    """Anything with ``Tagger.tag``'s signature (a ``Tagger``, or a stand-in in tests)."""

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]: ...


def predict_spans(tagger: TextTagger, texts: Sequence[str], progress: bool = False) -> list[list[tuple[str, int, int]]]:
    """Predicted ``(type, start, end)`` spans of each text."""
    out: list[list[tuple[str, int, int]]] = []
    chunks = range(0, len(texts), CHUNK)
    for i in tqdm(chunks, desc="evaluate", unit="chunk", disable=not progress, file=sys.stderr):
        for entities in tagger.tag(texts[i : i + CHUNK]):
            out.append([(e.entity_type, e.start_char, e.end_char) for e in entities])
    return out


def evaluate_sentences(
    tagger: TextTagger, sentences: Sequence[Sentence], types: Iterable[str] | None = None, progress: bool = False
) -> Evaluation:
    texts, gold = zip(*(s.text_and_spans() for s in sentences)) if sentences else ((), ())
    return strict_scores(list(gold), predict_spans(tagger, list(texts), progress), types)


def evaluate_documents(
    tagger: TextTagger, docs: Sequence[Document], types: Iterable[str] | None = None, progress: bool = False
) -> Evaluation:
    predicted = predict_spans(tagger, [d.text for d in docs], progress)
    return strict_scores([list(d.spans) for d in docs], predicted, types)


def format_table(scores: Evaluation) -> str:
    rows = [("type", "precision", "recall", "f1", "support")]
    for name, s in scores.rows():
        rows.append((name, f"{s.precision:.4f}", f"{s.recall:.4f}", f"{s.f1:.4f}", str(s.support)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows
    )
