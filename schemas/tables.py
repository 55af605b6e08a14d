"""The tables the job reads and writes.

Notes (input): at least an id column (``note_id``: string, large_string or any integer type, an
integer being written as its decimal string) and a text column (``text``: string or large_string);
the job's ``--id-column``/``--text-column`` map other names. Any other column is optional and may be
copied onto entity rows with ``--passthrough``.

Entities (output): one row per entity, ``ENTITY_BASE_SCHEMA`` plus the passthrough columns
inserted after ``icd10cm_score``. Codes (output): ``CODES_SCHEMA``. Rejects (output):
``REJECT_SCHEMA``; never any note text.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

STRING_TYPES = (pa.string(), pa.large_string())
INTEGER_TYPES = (pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64())
# Accepted input types of the id and text columns; an integer id is written as its decimal string.
NOTE_REQUIRED_FIELDS = {"note_id": STRING_TYPES + INTEGER_TYPES, "text": STRING_TYPES}

_ENTITY_HEAD = [
    pa.field("note_id", pa.string(), nullable=False),
    pa.field("entity_id", pa.string(), nullable=False),
    pa.field("entity_type", pa.string(), nullable=False),
    pa.field("start_char", pa.int64(), nullable=False),
    pa.field("end_char", pa.int64(), nullable=False),
    pa.field("text", pa.string(), nullable=False),
    pa.field("score", pa.float32(), nullable=False),
    # Clinical context (nercore.context.engine); all null when the job runs with --no-context, section
    # null before a note's first recognised header.
    pa.field("negation", pa.string(), nullable=True),  # affirmed | negated | possible
    pa.field("temporality", pa.string(), nullable=True),  # recent | historical | hypothetical
    pa.field("experiencer", pa.string(), nullable=True),  # patient | other
    pa.field("section", pa.string(), nullable=True),  # e.g. past_medical_history
    # ICD-10-CM (nercore.codes.linker): the best candidate of a Disease entity when its score reaches
    # the linker's threshold; null otherwise, for other types and with --no-codes.
    pa.field("icd10cm_code", pa.string(), nullable=True),  # e.g. "C18.9"
    pa.field("icd10cm_score", pa.float32(), nullable=True),  # in [0, 1]
]
_ENTITY_TAIL = [
    pa.field("model_name", pa.string(), nullable=False),
    pa.field("model_version", pa.string(), nullable=False),
    pa.field("pipeline_version", pa.string(), nullable=False),
]
ENTITY_BASE_SCHEMA = pa.schema(_ENTITY_HEAD + _ENTITY_TAIL)

# Ranked ICD-10-CM candidates: one row per (Disease entity, rank), rank 1 best, up to --codes-k
# rows per entity (whatever their score); join to the entity table on entity_id.
CODES_SCHEMA = pa.schema(
    [
        pa.field("entity_id", pa.string(), nullable=False),
        pa.field("rank", pa.int16(), nullable=False),
        pa.field("code", pa.string(), nullable=False),  # with its dot, e.g. "E11.9"
        pa.field("description", pa.string(), nullable=False),  # the ICD-10-CM text of the code
        pa.field("score", pa.float32(), nullable=False),  # in [0, 1]; 1.0 for an exact name match
        pa.field("billable", pa.bool_(), nullable=False),  # a leaf code, valid on a claim
    ]
)

REJECT_SCHEMA = pa.schema(
    [
        pa.field("note_id", pa.string(), nullable=True),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
    ]
)


# One row per tagged note: what an incremental night compares (``content_hash`` of the note's text and
# passthrough values, and the model that tagged it); no text.
NOTE_STATE_SCHEMA = pa.schema(
    [
        pa.field("note_id", pa.string(), nullable=False),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("model_version", pa.string(), nullable=False),
    ]
)


# One row per note and ICD-10-CM code, for coders (the rule: ``job_core.note_codes``).
NOTE_CODES_SCHEMA = pa.schema(
    [
        pa.field("note_id", pa.string(), nullable=False),
        pa.field("icd10cm_code", pa.string(), nullable=False),
        pa.field("mentions", pa.int32(), nullable=False),
        pa.field("historical_mentions", pa.int32(), nullable=False),
        pa.field("best_score", pa.float32(), nullable=False),
        pa.field("sections", pa.list_(pa.string()), nullable=False),
        pa.field("first_start_char", pa.int64(), nullable=False),
        pa.field("first_end_char", pa.int64(), nullable=False),
        pa.field("entity_ids", pa.list_(pa.string()), nullable=False),
        pa.field("model_version", pa.string(), nullable=False),
    ]
)


class SchemaError(ValueError):
    """An input file's schema cannot be used; the message names the file and the column."""


def check_note_schema(schema: pa.Schema, source: str, id_column: str = "note_id", text_column: str = "text") -> None:
    """Refuse a notes file whose id or text column is missing or of another type.

    Every fault of the file is named in one error, with the columns the file does have.
    """
    faults = []
    for role, name in (("note_id", id_column), ("text", text_column)):
        index = schema.get_field_index(name)
        if index < 0:
            faults.append(f"missing required column '{name}'")
        elif schema.field(index).type not in NOTE_REQUIRED_FIELDS[role]:
            expected = "string or integer" if role == "note_id" else "string"
            faults.append(f"column '{name}' has type {schema.field(index).type}, expected {expected}")
    if faults:
        have = ", ".join(f"{f.name}: {f.type}" for f in schema) or "none"
        raise SchemaError(f"{source}: {'; '.join(faults)} (the file has columns {have})")


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
