"""The note-level codes table for coders: one row per note and ICD-10-CM code.

The rule: a Disease entity counts toward its note's code when it has a code and its context says
it is affirmed, experienced by the patient and not hypothetical. Historical mentions ("history of
asthma") count, with ``historical_mentions`` saying how many there were: whether a past condition
is coded is the coder's decision. Each row gives the mention count, the best linking score, the
sections the code appears in, the first mention's offsets and the entity ids as evidence. With
``--no-context`` no entity qualifies (its context is unknown), so the table is empty.

A note's entities are all tagged in one task, so the table is built there, per note, without a
shuffle.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from job_core.note_batch import NoteBatch
from job_core.rows import TableColumns, entity_id
from job_core.tags import BatchTags
from nercore.entity import Entity


def qualifies(e: Entity) -> bool:
    return (
        e.entity_type == "Disease"
        and e.icd10cm_code is not None
        and e.negation == "affirmed"
        and e.experiencer == "patient"
        and e.temporality != "hypothetical"
    )


def add_note_codes(out: TableColumns, note_id: str, entities: Sequence[Entity], model_version: str) -> None:
    """Append one note's rows (``schemas.NOTE_CODES_SCHEMA``) to ``out``."""
    by_code: dict[str, list[Entity]] = {}
    for e in sorted(entities, key=lambda e: (e.start_char, e.end_char)):
        if qualifies(e):
            by_code.setdefault(e.icd10cm_code, []).append(e)
    c = out.columns
    for code in sorted(by_code):
        mentions = by_code[code]
        first = mentions[0]
        c["note_id"].append(note_id)
        c["icd10cm_code"].append(code)
        c["mentions"].append(len(mentions))
        c["historical_mentions"].append(sum(e.temporality == "historical" for e in mentions))
        c["best_score"].append(max(e.icd10cm_score or 0.0 for e in mentions))
        c["sections"].append(sorted({e.section for e in mentions if e.section is not None}))
        c["first_start_char"].append(first.start_char)
        c["first_end_char"].append(first.end_char)
        c["entity_ids"].append([entity_id(note_id, e.entity_type, e.start_char, e.end_char) for e in mentions])
        c["model_version"].append(model_version)


def add_batch_note_codes(out: TableColumns, notes: NoteBatch, tags: BatchTags) -> None:
    """``add_note_codes`` for every tagged note of a NoteBatch, from its entity columns: only the
    entities that can qualify (a Disease with a code, its context computed) become ``Entity``s."""
    columns = tags.tagged.columns
    if columns.linked is None or columns.context is None or not len(columns):
        return
    candidate = np.flatnonzero(
        np.fromiter((code is not None for code in columns.linked.icd10cm_code), dtype=bool, count=len(columns))
        & np.array([t == "Disease" for t in columns.entity_type], dtype=bool)
    )
    if candidate.size == 0:
        return
    picked = columns.slice_rows(candidate)
    per_note = picked.entities(notes.texts)
    for i in tags.tagged_rows():
        if per_note[i]:
            add_note_codes(out, notes.note_ids[i], per_note[i], tags.tagged.model_version)
