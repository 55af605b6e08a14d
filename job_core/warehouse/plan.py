"""An incremental night's plan: which notes the warehouse already holds with this content and model.

Read before the pipeline starts, from the warehouse's ``notes`` table at the snapshot before this
run's first commit (so that a rerun of a half-committed night plans exactly as its first attempt
did), or its current snapshot for a new run. Only three columns are read, and only the notes
tagged by this run's model version count: a new model version re-tags everything.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow.compute as pc
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from job_core.known import KnownNotes, note_key
from job_core.warehouse.catalog import open_catalog
from job_core.warehouse.commit import RUN_PROPERTY

log = logging.getLogger("job_core.warehouse")


def snapshot_before(table: Table, run_id: str | None) -> int | None:
    """The snapshot to plan from: the parent of this run's first snapshot if it has one, else the current."""
    snapshots = table.snapshots()
    for snapshot in snapshots:
        if run_id is not None and snapshot.summary.additional_properties.get(RUN_PROPERTY) == run_id:
            return snapshot.parent_snapshot_id
    current = table.current_snapshot()
    return current.snapshot_id if current is not None else None


def plan_known(warehouse: str, namespace: str, model_version: str, run_id: str | None) -> tuple[KnownNotes, dict]:
    """The known notes of this model version, and what the summary says about the plan."""
    catalog = open_catalog(warehouse)
    try:
        table = catalog.load_table(f"{namespace}.notes")
    except NoSuchTableError:
        return KnownNotes(np.zeros(0, dtype=np.uint64)), {"known_notes": 0, "other_model_notes": 0, "snapshot": None}
    snapshot = snapshot_before(table, run_id)
    if snapshot is None:
        return KnownNotes(np.zeros(0, dtype=np.uint64)), {"known_notes": 0, "other_model_notes": 0, "snapshot": None}
    rows = table.scan(snapshot_id=snapshot, selected_fields=("note_id", "content_hash", "model_version")).to_arrow()
    same = pc.equal(rows.column("model_version"), model_version)
    mine = rows.filter(same)
    known = KnownNotes(
        np.fromiter(
            (
                note_key(i, h)
                for i, h in zip(mine.column("note_id").to_pylist(), mine.column("content_hash").to_pylist())
            ),
            dtype=np.uint64,
            count=mine.num_rows,
        )
    )
    info = {"known_notes": mine.num_rows, "other_model_notes": rows.num_rows - mine.num_rows, "snapshot": snapshot}
    if info["other_model_notes"]:
        log.info(
            "%d known notes were tagged by another model version: they are tagged again", info["other_model_notes"]
        )
    return known, info
