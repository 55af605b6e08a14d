"""The one place where an ``Entity`` becomes an entity-table row."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from nercore.entity import Entity


def entity_id(note_id: str, entity_type: str, start_char: int, end_char: int) -> str:
    """Deterministic id: the same note, span and type always give the same id."""
    key = f"{note_id}\x1f{entity_type}\x1f{start_char}\x1f{end_char}".encode()
    return hashlib.sha256(key).hexdigest()[:32]


def entity_row(
    note: dict, entity: Entity, passthrough_names: Sequence[str], model_name: str, model_version: str, pipeline_version: str
) -> dict:
    """An entity-table row (see ``schemas.entity_schema``)."""
    row = {
        "note_id": note["note_id"],
        "entity_id": entity_id(note["note_id"], entity.entity_type, entity.start_char, entity.end_char),
        "entity_type": entity.entity_type,
        "start_char": entity.start_char,
        "end_char": entity.end_char,
        "text": entity.text,
        "score": entity.score,
        "negation": entity.negation,
        "temporality": entity.temporality,
        "experiencer": entity.experiencer,
        "section": entity.section,
        "icd10cm_code": entity.icd10cm_code,
        "icd10cm_score": entity.icd10cm_score,
        "model_name": model_name,
        "model_version": model_version,
        "pipeline_version": pipeline_version,
    }
    row.update(zip(passthrough_names, note["passthrough"]))
    return row


def code_rows(entity_key: str, entity: Entity) -> list[dict]:
    """Codes-table rows (``schemas.CODES_SCHEMA``) of an entity's ranked ICD-10-CM candidates."""
    return [
        {"entity_id": entity_key, "rank": rank, "code": c.code, "description": c.description, "score": c.score, "billable": c.billable}
        for rank, c in enumerate(entity.codes, 1)
    ]
