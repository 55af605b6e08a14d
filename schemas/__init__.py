"""Arrow/Parquet schemas of notes (input), entities and rejects (output), and footer checks."""

from schemas.tables import (
    CODES_SCHEMA,
    ENTITY_BASE_SCHEMA,
    NOTE_CODES_SCHEMA,
    NOTE_REQUIRED_FIELDS,
    NOTE_STATE_SCHEMA,
    REJECT_SCHEMA,
    SchemaError,
    check_note_schema,
    entity_schema,
    passthrough_fields,
)

__all__ = [
    "ENTITY_BASE_SCHEMA",
    "NOTE_CODES_SCHEMA",
    "NOTE_REQUIRED_FIELDS",
    "NOTE_STATE_SCHEMA",
    "CODES_SCHEMA",
    "REJECT_SCHEMA",
    "SchemaError",
    "check_note_schema",
    "entity_schema",
    "passthrough_fields",
]
