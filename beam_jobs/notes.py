"""Per-row checks and the duplicate-id rule: every row ends up tagged or rejected with a reason.

Duplicate rule: rows that share a ``note_id`` are grouped. If all their texts are identical the
note is tagged once (the copy first in (source_file, row) order) and every other copy is
rejected as ``duplicate_note_id``. If their texts differ, which is the right one cannot be told,
so every row of that id is rejected as ``conflicting_duplicate_note_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

REASON_NULL_ID = "null_note_id"
REASON_EMPTY_ID = "empty_note_id"
REASON_NULL_TEXT = "null_text"
REASON_EMPTY_TEXT = "empty_text"
REASON_BLANK_TEXT = "blank_text"
REASON_TOO_LONG = "text_too_long"
REASON_DUPLICATE = "duplicate_note_id"
REASON_CONFLICT = "conflicting_duplicate_note_id"
REASON_INFERENCE = "inference_failed"


def reject(row: dict, reason: str) -> dict:
    """A rejects-table row: id, reason and file; never the text."""
    return {"note_id": row.get("note_id"), "reason": reason, "source_file": row["source_file"]}


def row_fault(row: dict, max_chars: int) -> str | None:
    """The reason a row cannot be tagged, or None."""
    note_id, text = row.get("note_id"), row.get("text")
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


def resolve_duplicates(note_id: str, rows: Iterable[dict]) -> Iterator[tuple[str, dict]]:
    """Yield ``("note", row)`` for the one row to tag and ``("reject", reject_row)`` for the rest."""
    ordered = sorted(rows, key=lambda r: (r["source_file"], r["row"]))
    if len(ordered) == 1:
        yield "note", ordered[0]
        return
    if all(r["text"] == ordered[0]["text"] for r in ordered[1:]):
        yield "note", ordered[0]
        for r in ordered[1:]:
            yield "reject", reject(r, REASON_DUPLICATE)
        return
    for r in ordered:
        yield "reject", reject(r, REASON_CONFLICT)
