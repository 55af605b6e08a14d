"""The one place where tagged entities (``EntityColumns``) become entity-table and codes-table rows."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pyarrow as pa

from job_core.note_batch import NoteBatch
from job_core.tags import BatchTags


def entity_id(note_id: str, entity_type: str, start_char: int, end_char: int) -> str:
    """Deterministic id: the same note, span and type always give the same id."""
    key = f"{note_id}\x1f{entity_type}\x1f{start_char}\x1f{end_char}".encode()
    return hashlib.sha256(key).hexdigest()[:32]


class TableColumns:
    """Rows of one table gathered column by column, taken out as Arrow record batches.

    The job's hot path builds no dict or object per entity: ``add_entities`` appends the entity
    columns of a NoteBatch to the table's columns, Python values to ``columns`` and Arrow arrays (passthrough values,
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
    tags: BatchTags,
    passthrough_names: Sequence[str],
    model_name: str,
    pipeline_version: str,
) -> int:
    """Append the entities of a NoteBatch's tagged notes (``schemas.entity_schema``) and their
    codes (``CODES_SCHEMA``), column by column from ``tags``' entity columns (a failed note has
    none). Return how many entities got a code."""
    columns = tags.tagged.columns
    n = len(columns)
    if n == 0:
        return 0
    owner = columns.text.tolist()  # the row in ``notes`` of each entity
    note_ids = [notes.note_ids[i] for i in owner]
    starts, ends = columns.start_char.tolist(), columns.end_char.tolist()
    ids = [entity_id(*key) for key in zip(note_ids, columns.entity_type, starts, ends)]
    c = entities_out.columns
    c["note_id"].extend(note_ids)
    c["entity_id"].extend(ids)
    c["model_version"].extend([tags.tagged.model_version] * n)
    c["entity_type"].extend(columns.entity_type)
    c["start_char"].extend(starts)
    c["end_char"].extend(ends)
    c["text"].extend(columns.mentions(notes.texts))
    c["score"].extend(columns.score.tolist())
    for name in ("negation", "temporality", "experiencer", "section"):
        c[name].extend(columns.context_values(name))
    linked = columns.linked
    c["icd10cm_code"].extend(linked.icd10cm_code if linked is not None else [None] * n)
    c["icd10cm_score"].extend(linked.icd10cm_score if linked is not None else [None] * n)
    c["model_name"].extend([model_name] * n)
    c["pipeline_version"].extend([pipeline_version] * n)
    if passthrough_names:
        picked = pa.array(owner, type=pa.int64())
        for name, column in zip(passthrough_names, notes.passthrough):
            entities_out.chunks[name].append(column.take(picked))
    if linked is None:
        return 0
    k = codes_out.columns
    for key, candidates in zip(ids, linked.codes):
        if candidates:
            k["entity_id"].extend([key] * len(candidates))
            k["rank"].extend(range(1, len(candidates) + 1))
            for name in ("code", "description", "score", "billable"):
                k[name].extend([getattr(candidate, name) for candidate in candidates])
    return sum(code is not None for code in linked.icd10cm_code)
