"""A run's landing files: the tables' rows as the warehouse stores them, in ``<root>/landing/<run_id>/``.

Written on the launcher from the run's committed Parquet files, one landing file per run file:
the run's ``run_id`` and ``run_date`` added (one run date per file, so ``add_files`` takes the
partition from the file's statistics), ``note_id`` added to codes, every column cast to the table's
exact type, and no Parquet field ids (pyiceberg maps columns by name; a file whose field ids were
in another order was read back with columns swapped). The files stay where they are written:
``add_files`` registers them, it does not copy them.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from job_core import files

LANDING = "landing"


def landing_folder(root: str, run_id: str) -> str:
    return f"{root.rstrip('/')}/{LANDING}/{run_id}"


def with_run(batch: pa.Table, run_id: str, run_date: datetime.date) -> pa.Table:
    n = batch.num_rows
    batch = batch.append_column(pa.field("run_id", pa.string(), nullable=False), pa.array([run_id] * n, pa.string()))
    return batch.append_column(pa.field("run_date", pa.date32(), nullable=False), pa.array([run_date] * n, pa.date32()))


def entity_notes(entity_files: Sequence[str]) -> pa.Table:
    """``entity_id → note_id`` of the run's entities (two columns only), to give codes their note."""
    parts = [pq.read_table(path, columns=["entity_id", "note_id"]) for path in entity_files]
    return pa.concat_tables(parts) if parts else pa.table({"entity_id": pa.array([], pa.string()), "note_id": []})


def write_landing(
    table: str,
    sources: Sequence[str],
    schema: pa.Schema,
    folder: str,
    run_id: str,
    run_date: datetime.date,
    owners: pa.Table | None = None,
) -> list[str]:
    """Write the landing files of one table from the run's files of it; their ``file://`` or store URIs."""
    out = []
    for source in sources:
        rows = pq.read_table(source)
        if rows.num_rows == 0:
            continue
        if table == "codes":
            rows = rows.join(owners, "entity_id", join_type="inner")
            order = pc.sort_indices(rows, [("entity_id", "ascending"), ("rank", "ascending")])
            rows = rows.take(order)
        rows = with_run(rows, run_id, run_date).select(schema.names).cast(schema)
        path = f"{folder}/{table}-{Path(source).stem.split('-', 1)[-1]}.parquet"
        with files.create(path) as handle:
            pq.write_table(rows, handle)
        out.append(path if "://" in path else f"file://{Path(path).resolve()}")
    return out
