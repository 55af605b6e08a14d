"""The warehouse tables: the job's Arrow schemas plus each row's run, partitioned by run date.

``entities``, ``codes`` and ``rejects`` carry ``run_id`` and ``run_date`` (identity partition: a
nightly reader reads one partition); ``codes`` also carries ``note_id``, so that a note's codes are
replaced with its entities. ``runs`` is the ledger, one row per published night, appended last.
"""

from __future__ import annotations

import pyarrow as pa

from schemas import CODES_SCHEMA, NOTE_CODES_SCHEMA, NOTE_STATE_SCHEMA, REJECT_SCHEMA

RUN_FIELDS = [pa.field("run_id", pa.string(), nullable=False), pa.field("run_date", pa.date32(), nullable=False)]
PARTITION_COLUMN = "run_date"
TABLES = ("entities", "codes", "note_codes", "notes", "rejects")
LEDGER = "runs"
RUNS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("run_date", pa.date32(), nullable=False),
        pa.field("started", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("finished", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("model_name", pa.string(), nullable=False),
        pa.field("model_version", pa.string(), nullable=False),
        pa.field("pipeline_version", pa.string(), nullable=False),
        pa.field("runner", pa.string(), nullable=False),
        pa.field("input_files", pa.list_(pa.string()), nullable=False),
        pa.field("notes_read", pa.int64(), nullable=False),
        pa.field("notes_tagged", pa.int64(), nullable=False),
        pa.field("notes_rejected", pa.int64(), nullable=False),
        pa.field("notes_unchanged", pa.int64(), nullable=False),
        pa.field("entities", pa.int64(), nullable=False),
        pa.field("notes_replaced", pa.int64(), nullable=False),
    ]
)


def warehouse_schema(table: str, job_schema: pa.Schema) -> pa.Schema:
    """A warehouse table's schema from the job's schema of that table."""
    if table == "codes":
        job_schema = pa.schema([pa.field("note_id", pa.string(), nullable=False), *CODES_SCHEMA])
    elif table == "rejects":
        job_schema = REJECT_SCHEMA
    elif table == "notes":
        job_schema = NOTE_STATE_SCHEMA
    elif table == "note_codes":
        job_schema = NOTE_CODES_SCHEMA
    return pa.schema([*job_schema, *RUN_FIELDS])
