"""Character-offset annotations, as annotation tools export them, turned into gold spans.

Every reader in ``nercore.corpora.formats`` yields ``AnnotatedDocument``s: a text and its annotations,
each a label with one or more character fragments (BRAT's discontinuous spans have several).
``resolve`` then applies one ``SpanPolicy`` to all of them, whatever the format, and counts in an
``AnnotationReport`` everything it had to change or leave out:

- a label outside ``types``: ignored (``unknown_label``);
- a discontinuous span: its first fragment kept, or the span skipped (``discontinuous``);
- whitespace at either end of a span: trimmed (``whitespace_trimmed``, not a problem);
- a boundary inside a word of the tagger's tokenizer: snapped outwards to whole words, skipped,
  kept as is (evaluation), or an error (``misaligned``);
- the same label on the same characters twice: one kept (``duplicate``, not a problem);
- overlapping or nested spans: the longest kept (training), or all kept (evaluation)
  (``overlapping``).

Offsets are Python string indices: Unicode code points, so an emoji counts as one. Readers
convert UTF-16 code-unit offsets (JavaScript's string indices) where a tool writes them.
With ``strict``, any problem raises ``DataError`` naming file, document and span (offsets and
label only: annotation text is never put into a message).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from nercore.corpora.documents import DataError, Document
from nercore.tagging.preprocess import encode_texts

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

# Counted changes that ``strict`` refuses; the others (trimmed whitespace, duplicates, UTF-16
# offsets converted) change nothing a user meant.
PROBLEMS = ("unknown_label", "discontinuous", "misaligned", "overlapping", "offset_mismatch")
MISALIGNED_ACTIONS = ("snap", "skip", "error", "keep")


@dataclass(frozen=True)
class Annotation:
    """One labelled span: a label and its character fragments (end exclusive), in text order.

    ``ref`` names the span in its file (BRAT ``T3``, a Label Studio result id, ``line 4 #2``).
    """

    label: str
    fragments: tuple[tuple[int, int], ...]
    ref: str = ""
    flag: str = ""  # set by a reader: "utf16_converted", or "offset_mismatch" (a problem)


@dataclass(frozen=True)
class AnnotatedDocument:
    doc_id: str
    text: str
    annotations: tuple[Annotation, ...]


@dataclass(frozen=True)
class SpanPolicy:
    """How ``resolve`` treats what a flat BIO tagger cannot represent.

    Attributes:
        types: labels to keep (None: all).
        on_misaligned: a span boundary inside a word: ``snap`` to whole words, ``skip`` the
            span, ``error``, or ``keep`` it unchanged (evaluation: the tagger can never match it).
        discontinuous: ``first`` fragment kept, or ``skip`` the span.
        overlaps: ``longest`` kept (ties: the earlier, then the label order), or ``keep`` all.
        strict: any counted problem is a ``DataError``.
    """

    types: tuple[str, ...] | None = None
    on_misaligned: str = "snap"
    discontinuous: str = "first"
    overlaps: str = "longest"
    strict: bool = False

    def __post_init__(self) -> None:
        if self.on_misaligned not in MISALIGNED_ACTIONS:
            raise ValueError(
                f"expected --on-misaligned one of {', '.join(MISALIGNED_ACTIONS)}, got {self.on_misaligned!r}"
            )
        if self.discontinuous not in ("first", "skip"):
            raise ValueError(f"expected --discontinuous first or skip, got {self.discontinuous!r}")
        if self.overlaps not in ("longest", "keep"):
            raise ValueError(f"expected overlaps 'longest' or 'keep', got {self.overlaps!r}")


@dataclass
class AnnotationReport:
    """What reading one file kept, changed and left out."""

    source: str
    documents: int = 0
    spans: int = 0
    kept: int = 0
    counts: Counter = field(default_factory=Counter)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def problems(self) -> dict[str, int]:
        return {k: v for k, v in sorted(self.counts.items()) if v and k in PROBLEMS}

    def as_dict(self) -> dict:
        return {
            "file": self.source,
            "documents": self.documents,
            "spans": self.spans,
            "kept": self.kept,
            **dict(sorted(self.counts.items())),
        }

    def line(self) -> str:
        """A one-line summary: counts only."""
        extra = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()) if v)
        return f"{self.source}: {self.documents} documents, {self.spans} spans, {self.kept} kept" + (
            f"; {extra}" if extra else ""
        )


def utf16_to_codepoints(text: str) -> np.ndarray | None:
    """For each UTF-16 code-unit offset into ``text``, its code-point offset; None when the two
    agree (no character outside the Basic Multilingual Plane)."""
    wide = [i for i, ch in enumerate(text) if ord(ch) > 0xFFFF]
    if not wide:
        return None
    units = np.ones(len(text) + 1, dtype=np.int64)
    units[np.asarray(wide)] = 2
    units[-1] = 0
    unit_start = np.concatenate([[0], np.cumsum(units[:-1])])  # UTF-16 offset of each code point
    out = np.full(int(unit_start[-1]) + 1, -1, dtype=np.int64)
    out[unit_start] = np.arange(len(text) + 1)
    return out


def word_bounds(tokenizer: PreTrainedTokenizerFast, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Start and end characters of each word of each text, as the tagger's tokenizer cuts them."""
    return [(e.word_start_char, e.word_end_char) for e in encode_texts(tokenizer, list(texts))] if texts else []


def snap_to_words(start: int, end: int, starts: np.ndarray, ends: np.ndarray) -> tuple[int, int] | None:
    """The smallest run of whole words covering every word that ``[start, end)`` touches; None if
    it touches none."""
    first = int(np.searchsorted(ends, start, side="right"))  # first word ending after start
    last = int(np.searchsorted(starts, end, side="left")) - 1  # last word starting before end
    if first > last:
        return None
    return int(starts[first]), int(ends[last])


class _Resolver:
    """Applies a policy to one file's documents, counting into its report."""

    def __init__(self, policy: SpanPolicy, report: AnnotationReport):
        self.policy = policy
        self.report = report
        self.types = None if policy.types is None else set(policy.types)

    def problem(self, what: str, doc_id: str, ann: Annotation, start: int, end: int) -> None:
        self.report.count(what)
        if self.policy.strict:
            raise DataError(
                f"{self.report.source}: document {doc_id}: span {ann.ref or '?'} ({ann.label}, {start}-{end}): "
                f"{what} (--strict)"
            )

    def span(self, doc: AnnotatedDocument, ann: Annotation, words) -> tuple[str, int, int] | None:
        start, end = ann.fragments[0]
        if ann.flag == "offset_mismatch":
            self.problem(ann.flag, doc.doc_id, ann, start, end)
        elif ann.flag:
            self.report.count(ann.flag)
        if self.types is not None and ann.label not in self.types:
            self.problem("unknown_label", doc.doc_id, ann, start, end)
            return None
        if len(ann.fragments) > 1:
            self.problem("discontinuous", doc.doc_id, ann, start, ann.fragments[-1][1])
            if self.policy.discontinuous == "skip":
                return None
        text = doc.text
        trimmed_start, trimmed_end = start, end
        while trimmed_start < trimmed_end and text[trimmed_start].isspace():
            trimmed_start += 1
        while trimmed_end > trimmed_start and text[trimmed_end - 1].isspace():
            trimmed_end -= 1
        if trimmed_start == trimmed_end:
            self.report.count("empty")
            return None
        if (trimmed_start, trimmed_end) != (start, end):
            self.report.count("whitespace_trimmed")
            start, end = trimmed_start, trimmed_end
        if words is not None:
            starts, ends = words
            aligned = (
                starts.size
                and starts[np.searchsorted(starts, start).clip(max=starts.size - 1)] == start
                and ends[np.searchsorted(ends, end).clip(max=ends.size - 1)] == end
            )
            if not aligned:
                action = self.policy.on_misaligned
                if action == "error":
                    raise DataError(
                        f"{self.report.source}: document {doc.doc_id}: span {ann.ref or '?'} ({ann.label}, "
                        f"{start}-{end}): "
                        "a boundary falls inside a word (--on-misaligned error)"
                    )
                self.problem("misaligned", doc.doc_id, ann, start, end)
                self.report.count(f"misaligned:{action}")
                if action == "skip":
                    return None
                if action == "snap":
                    snapped = snap_to_words(start, end, starts, ends)
                    if snapped is None:
                        return None
                    start, end = snapped
        return ann.label, start, end

    def document(self, doc: AnnotatedDocument, words) -> Document:
        self.report.documents += 1
        self.report.spans += len(doc.annotations)
        found = [s for ann in doc.annotations if (s := self.span(doc, ann, words)) is not None]
        unique = sorted(set(found), key=lambda s: (s[1], s[2], s[0]))
        self.report.count("duplicate", len(found) - len(unique))
        kept = self.flatten(doc, unique)
        self.report.kept += len(kept)
        return Document(doc.doc_id, doc.text, tuple(kept))

    def flatten(self, doc: AnnotatedDocument, spans: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        accepted: list[tuple[str, int, int]] = []
        by_length = sorted(spans, key=lambda s: (s[1] - s[2], s[1], s[0]))  # longest first
        for span in by_length:
            if any(span[1] < other[2] and other[1] < span[2] for other in accepted):
                self.problem("overlapping", doc.doc_id, Annotation(span[0], ((span[1], span[2]),)), span[1], span[2])
                if self.policy.overlaps == "longest":
                    continue
            accepted.append(span)
        return sorted(accepted, key=lambda s: (s[1], s[2], s[0]))


def resolve(
    docs: Iterable[AnnotatedDocument],
    policy: SpanPolicy,
    source: str,
    tokenizer: PreTrainedTokenizerFast | None = None,
    counts: Counter | None = None,
) -> tuple[list[Document], AnnotationReport]:
    """Gold ``Document``s from one file's annotated documents, and the report of what changed.

    Args:
        docs: the file's documents, from a ``nercore.corpora.formats`` reader.
        policy: what to do with spans a flat tagger cannot represent.
        source: the file's name, for the report and error messages.
        tokenizer: the tagger's fast tokenizer; word alignment is checked only when given.
        counts: what the reader left out (e.g. rejected or unlabelled tasks), for the report.

    Raises:
        DataError: ``policy.strict`` and a problem, or ``on_misaligned="error"`` and a misaligned span.
    """
    docs = list(docs)
    report = AnnotationReport(source, counts=Counter(counts or {}))
    resolver = _Resolver(policy, report)
    bounds = word_bounds(tokenizer, [d.text for d in docs]) if tokenizer is not None else [None] * len(docs)
    return [resolver.document(doc, words) for doc, words in zip(docs, bounds)], report


def from_documents(docs: Iterable[Document]) -> list[AnnotatedDocument]:
    """Flat gold documents (CoNLL, PubTator) as annotated documents."""
    return [
        AnnotatedDocument(
            d.doc_id, d.text, tuple(Annotation(t, ((s, e),), f"#{i + 1}") for i, (t, s, e) in enumerate(d.spans))
        )
        for d in docs
    ]


def check_offsets(path: str, doc_id: str, text: str, ann: Annotation) -> None:
    """Raise ``DataError`` for a fragment outside the text or empty: a corrupt export."""
    for start, end in ann.fragments:
        if not (0 <= start < end <= len(text)):
            raise DataError(
                f"{path}: document {doc_id}: span {ann.ref or '?'} has offsets {start}-{end}, "
                f"expected 0 <= start < end <= {len(text)} (the text's length in code points)"
            )
