"""The tables the job reads and writes.

Notes (input): at least ``note_id: string`` and ``text: string`` (``large_string`` also accepted);
any other column is optional and may be copied onto entity rows with ``--passthrough``.

Entities (output): one row per entity, ``ENTITY_BASE_SCHEMA`` plus the passthrough columns
inserted after ``score``. Rejects (output): ``REJECT_SCHEMA``; never any note text.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

NOTE_REQUIRED_FIELDS = {"note_id": (pa.string(), pa.large_string()), "text": (pa.string(), pa.large_string())}

_ENTITY_HEAD = [
    pa.field("note_id", pa.string(), nullable=False),
    pa.field("entity_id", pa.string(), nullable=False),
    pa.field("entity_type", pa.string(), nullable=False),
    pa.field("start_char", pa.int64(), nullable=False),
    pa.field("end_char", pa.int64(), nullable=False),
    pa.field("text", pa.string(), nullable=False),
    pa.field("score", pa.float32(), nullable=False),
]
_ENTITY_TAIL = [
    pa.field("model_name", pa.string(), nullable=False),
    pa.field("model_version", pa.string(), nullable=False),
    pa.field("pipeline_version", pa.string(), nullable=False),
]
ENTITY_BASE_SCHEMA = pa.schema(_ENTITY_HEAD + _ENTITY_TAIL)

REJECT_SCHEMA = pa.schema(
    [
        pa.field("note_id", pa.string(), nullable=True),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
    ]
)


class SchemaError(ValueError):
    """An input file's schema cannot be used; the message names the file and the column."""


def check_note_schema(schema: pa.Schema, source: str) -> None:
    """Refuse a notes file that lacks ``note_id``/``text`` or holds them in another type."""
    for name, accepted in NOTE_REQUIRED_FIELDS.items():
        index = schema.get_field_index(name)
        if index < 0:
            raise SchemaError(f"{source}: missing required column '{name}'")
        if schema.field(index).type not in accepted:
            raise SchemaError(f"{source}: column '{name}' has type {schema.field(index).type}, expected string")


def passthrough_fields(schema: pa.Schema, columns: Sequence[str], source: str) -> list[pa.Field]:
    """The fields of the requested passthrough columns (made nullable)."""
    reserved = {f.name for f in ENTITY_BASE_SCHEMA}
    fields = []
    for name in columns:
        if name in reserved:
            raise SchemaError(f"{source}: passthrough column '{name}' clashes with an entity column")
        index = schema.get_field_index(name)
        if index < 0:
            raise SchemaError(f"{source}: missing passthrough column '{name}'")
        fields.append(pa.field(name, schema.field(index).type, nullable=True))
    return fields


def entity_schema(passthrough: Sequence[pa.Field] = ()) -> pa.Schema:
    """The entity table's schema with the given passthrough fields."""
    return pa.schema(_ENTITY_HEAD + list(passthrough) + _ENTITY_TAIL)
