"""The one place where ``Entity`` objects become entity-table and codes-table rows (in columns)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pyarrow as pa

from job_core.note_batch import NoteBatch
from nercore.entity import Entity


def entity_id(note_id: str, entity_type: str, start_char: int, end_char: int) -> str:
    """Deterministic id: the same note, span and type always give the same id."""
    key = f"{note_id}\x1f{entity_type}\x1f{start_char}\x1f{end_char}".encode()
    return hashlib.sha256(key).hexdigest()[:32]


class TableColumns:
    """Rows of one table gathered column by column, taken out as Arrow record batches.

    The job's hot path builds no dict per entity: ``add_entities`` appends the entities of a
    NoteBatch to the columns, Python values to ``columns`` and Arrow arrays (passthrough values,
    taken from the input as they are) to ``chunks``; ``take`` turns them into one
    ``pa.RecordBatch`` of ``schema``.
    """

    def __init__(self, schema: pa.Schema, arrow_columns: Sequence[str] = ()):
        self.schema = schema
        self._arrow = tuple(arrow_columns)
        self._reset()

    def _reset(self) -> None:
        self.columns: dict[str, list] = {name: [] for name in self.schema.names if name not in self._arrow}
        self.chunks: dict[str, list[pa.Array]] = {name: [] for name in self._arrow}

    def __len__(self) -> int:
        return len(self.columns[self.schema.names[0]])

    def take(self) -> pa.RecordBatch:
        arrays = []
        for f in self.schema:
            if f.name in self.chunks:
                chunks = [c.cast(f.type) for c in self.chunks[f.name]]
                arrays.append(pa.concat_arrays(chunks) if chunks else pa.array([], type=f.type))
            else:
                arrays.append(pa.array(self.columns[f.name], type=f.type))
        self._reset()
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


def add_entities(
    entities_out: TableColumns,
    codes_out: TableColumns,
    notes: NoteBatch,
    results: Sequence,
    passthrough_names: Sequence[str],
    model_name: str,
    pipeline_version: str,
) -> int:
    """Append the entities of a NoteBatch's tagged notes (``schemas.entity_schema``) and their
    codes (``CODES_SCHEMA``); ``results`` has one ``TagResult`` a note (a str for a failed note,
    skipped). Return how many entities got a code."""
    c = entities_out.columns
    owner: list[int] = []  # the row in ``notes`` of each entity
    entities: list[Entity] = []
    for i, result in enumerate(results):
        if isinstance(result, str) or not result.entities:
            continue
        n = len(result.entities)
        note_id = notes.note_ids[i]
        owner.extend([i] * n)
        entities.extend(result.entities)
        c["note_id"].extend([note_id] * n)
        c["entity_id"].extend([entity_id(note_id, e.entity_type, e.start_char, e.end_char) for e in result.entities])
        c["model_version"].extend([result.model_version] * n)
    if not entities:
        return 0
    n = len(entities)
    for name in (
        "entity_type",
        "start_char",
        "end_char",
        "text",
        "score",
        "negation",
        "temporality",
        "experiencer",
        "section",
        "icd10cm_code",
        "icd10cm_score",
    ):
        c[name].extend([getattr(e, name) for e in entities])
    c["model_name"].extend([model_name] * n)
    c["pipeline_version"].extend([pipeline_version] * n)
    if passthrough_names:
        picked = pa.array(owner, type=pa.int64())
        for name, column in zip(passthrough_names, notes.passthrough):
            entities_out.chunks[name].append(column.take(picked))
    coded = 0
    ids = c["entity_id"][-n:]
    k = codes_out.columns
    for key, e in zip(ids, entities):
        if e.icd10cm_code is not None:
            coded += 1
        if e.codes:
            k["entity_id"].extend([key] * len(e.codes))
            k["rank"].extend(range(1, len(e.codes) + 1))
            for name in ("code", "description", "score", "billable"):
                k[name].extend([getattr(cand, name) for cand in e.codes])
    return coded
