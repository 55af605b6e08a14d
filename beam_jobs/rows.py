"""The one place where ``Entity`` objects become entity-table and codes-table rows (in columns)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from nercore.entity import Entity


def entity_id(note_id: str, entity_type: str, start_char: int, end_char: int) -> str:
    """Deterministic id: the same note, span and type always give the same id."""
    key = f"{note_id}\x1f{entity_type}\x1f{start_char}\x1f{end_char}".encode()
    return hashlib.sha256(key).hexdigest()[:32]


class TableColumns:
    """Rows of one table gathered column by column, taken out as Arrow record batches.

    The job's hot path builds no dict per entity: ``add_entities`` appends a note's entities to
    the columns, and ``take`` turns them into one ``pa.RecordBatch`` of ``schema``.
    """

    def __init__(self, schema):
        self.schema = schema
        self.columns: dict[str, list] = {name: [] for name in schema.names}

    def __len__(self) -> int:
        return len(self.columns[self.schema.names[0]])

    def take(self):
        import pyarrow as pa

        batch = pa.RecordBatch.from_pydict(self.columns, schema=self.schema)
        self.columns = {name: [] for name in self.schema.names}
        return batch


def add_entities(
    entities_out: TableColumns, codes_out: TableColumns, note: dict, entities: Sequence[Entity], passthrough_names: Sequence[str],
    model_name: str, model_version: str, pipeline_version: str,
) -> int:
    """Append a note's entities (``schemas.entity_schema``) and their codes (``CODES_SCHEMA``);
    return how many entities got a code."""
    if not entities:
        return 0
    note_id, n = note["note_id"], len(entities)
    ids = [entity_id(note_id, e.entity_type, e.start_char, e.end_char) for e in entities]
    c = entities_out.columns
    c["note_id"].extend([note_id] * n)
    c["entity_id"].extend(ids)
    for name in ("entity_type", "start_char", "end_char", "text", "score", "negation", "temporality", "experiencer", "section", "icd10cm_code", "icd10cm_score"):
        c[name].extend([getattr(e, name) for e in entities])
    c["model_name"].extend([model_name] * n)
    c["model_version"].extend([model_version] * n)
    c["pipeline_version"].extend([pipeline_version] * n)
    for name, value in zip(passthrough_names, note["passthrough"]):
        c[name].extend([value] * n)
    coded = 0
    for key, e in zip(ids, entities):
        if e.icd10cm_code is not None:
            coded += 1
        if e.codes:
            k = codes_out.columns
            k["entity_id"].extend([key] * len(e.codes))
            k["rank"].extend(range(1, len(e.codes) + 1))
            for name in ("code", "description", "score", "billable"):
                k[name].extend([getattr(cand, name) for cand in e.codes])
    return coded
