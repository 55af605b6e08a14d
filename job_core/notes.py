"""Per-row checks and the duplicate-id rule: every row ends up tagged or rejected with a reason.

Duplicate rule: rows that share a ``note_id`` are grouped. If they are identical copies (the
same text and the same value in every passthrough column) the note is tagged once (the copy
first in (source_file, row) order) and every other copy is rejected as ``duplicate_note_id``. If
they differ in anything, which is the right one cannot be told, so every row of that id is
rejected as ``conflicting_duplicate_note_id``.

The rule needs only each row's id, a content hash and its position (``row_keys``), never the text:
the job groups those small keys and applies the verdicts while reading, so no note text goes
through a shuffle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Container, Iterable, Iterator, Sequence
from typing import NamedTuple

from job_core.known import KnownNotes, note_key
from job_core.note_batch import NoteBatch

REASON_NULL_ID = "null_note_id"
REASON_EMPTY_ID = "empty_note_id"
REASON_NULL_TEXT = "null_text"
REASON_EMPTY_TEXT = "empty_text"
REASON_BLANK_TEXT = "blank_text"
REASON_TOO_LONG = "text_too_long"
REASON_DUPLICATE = "duplicate_note_id"
REASON_CONFLICT = "conflicting_duplicate_note_id"
REASON_INFERENCE = "inference_failed"


def reject(note_id: str | None, reason: str, source_file: str) -> dict:
    """A rejects-table row: id, reason and file; never the text."""
    return {"note_id": note_id, "reason": reason, "source_file": source_file}


def note_fault(note_id: str | None, text: str | None, max_chars: int) -> str | None:
    """The reason a row cannot be tagged, or None."""
    if note_id is None:
        return REASON_NULL_ID
    if not note_id.strip():
        return REASON_EMPTY_ID
    if text is None:
        return REASON_NULL_TEXT
    if text == "":
        return REASON_EMPTY_TEXT
    if not text.strip():
        return REASON_BLANK_TEXT
    if len(text) > max_chars:
        return f"{REASON_TOO_LONG}:>{max_chars}"
    return None


def batch_faults(batch: NoteBatch, max_chars: int) -> list[str | None]:
    """``note_fault`` of every row of a batch."""
    return [note_fault(note_id, text, max_chars) for note_id, text in zip(batch.note_ids, batch.texts)]


def content_hash(text: str | None, passthrough: tuple) -> str:
    """A digest of everything a row carries besides its id: two rows are copies only if equal."""
    digest = hashlib.sha256((text or "").encode("utf-8", "surrogatepass"))
    digest.update(repr(passthrough).encode("utf-8", "backslashreplace"))
    return digest.hexdigest()[:32]


def row_keys(batch: NoteBatch, max_chars: int) -> Iterator[tuple[str, tuple[str, str, int]]]:
    """``(note_id, (content hash, source_file, row))`` of each row that passes the checks: what
    the duplicate rule needs of a row."""
    faults = batch_faults(batch, max_chars)
    values = batch.passthrough_values()
    for i, fault in enumerate(faults):
        if fault is None:
            yield batch.note_ids[i], (content_hash(batch.texts[i], values[i]), batch.source_file, batch.rows[i])


def duplicate_verdicts(note_id: str, keys: Iterable[tuple[str, str, int]]) -> Iterator[tuple[tuple[str, int], dict]]:
    """``((source_file, row), reject_row)`` for every row of this id that is not to be tagged."""
    ordered = sorted(keys, key=lambda k: (k[1], k[2]))
    if len(ordered) == 1:
        return
    losers = ordered[1:] if all(k[0] == ordered[0][0] for k in ordered[1:]) else ordered
    reason = REASON_DUPLICATE if losers is not ordered else REASON_CONFLICT
    for _, source_file, row in losers:
        yield (source_file, row), {"note_id": note_id, "reason": reason, "source_file": source_file}


def valid_row_keys(batches: Iterable[NoteBatch], max_chars: int) -> Iterator[tuple[str, tuple[str, str, int]]]:
    """``row_keys`` of every batch (the duplicate rule's input)."""
    for batch in batches:
        yield from row_keys(batch, max_chars)


class Routed(NamedTuple):
    """What ``route_batch`` makes of a read batch."""

    rejects: list[dict]  # reject rows of its faulty rows
    batches: list[NoteBatch]  # the rows to tag
    unchanged: int  # rows the warehouse already holds with this content and model (skipped)


def route_batch(
    batch: NoteBatch,
    max_chars: int,
    verdicts: Container[tuple[str, int]],
    batch_chars: int,
    known: KnownNotes | None = None,
) -> Routed:
    """A read batch → its rejects, the batches to tag, and how many rows were unchanged.

    ``verdicts`` holds the (source_file, row) of every duplicate not to be tagged (its reject
    comes from ``duplicate_verdicts``): such rows are dropped here. ``known`` (an incremental
    night): rows whose id and content hash the warehouse holds for this model are skipped. The
    kept rows leave as batches of at most ``batch_chars`` characters.
    """
    rejects, keep = [], []
    for i, reason in enumerate(batch_faults(batch, max_chars)):
        if reason is not None:
            rejects.append(reject(batch.note_ids[i], reason, batch.source_file))
        elif not verdicts or (batch.source_file, batch.rows[i]) not in verdicts:
            keep.append(i)
    unchanged = 0
    if known is not None and len(known) and keep:
        hashes = content_hashes(batch, keep)
        seen = known.contains([note_key(batch.note_ids[i], h) for i, h in zip(keep, hashes)])
        unchanged = int(seen.sum())
        keep = [i for i, skip in zip(keep, seen) if not skip]
    return Routed(rejects, list(batch.split(keep, batch_chars)), unchanged)


def content_hashes(batch: NoteBatch, rows: Sequence[int]) -> list[str]:
    """``content_hash`` of the given rows of a batch."""
    values = batch.passthrough_values()
    return [content_hash(batch.texts[i], values[i]) for i in rows]
