"""The launcher's warehouse step, after the night's folder output is published: landing files, then
``commit.commit_night``."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence

import pyarrow.parquet as pq

from job_core import files
from job_core.config import JobConfig
from job_core.warehouse.catalog import landing_root, open_catalog
from job_core.warehouse.commit import Night, commit_night
from job_core.warehouse.landing import entity_notes, landing_folder, write_landing
from job_core.warehouse.schemas import TABLES, warehouse_schema

log = logging.getLogger("job_core.warehouse")


def night_note_ids(paths: Sequence[str]) -> list[str]:
    """The ids of the notes the night tagged or rejected (its ``notes`` and ``rejects`` files, one
    column read): the notes whose rows it replaces. Unchanged notes of an incremental night are in
    neither and keep their rows."""
    ids: set[str] = set()
    for path in paths:
        with files.open_input(path) as handle:
            column = pq.read_table(handle, columns=["note_id"]).column(0).combine_chunks()
        ids.update(i for i in column.to_pylist() if i is not None and i.strip())
    return sorted(ids)


def run_date(config: JobConfig) -> datetime.date:
    if config.run_date is not None:
        return datetime.date.fromisoformat(config.run_date)
    return datetime.datetime.now(datetime.timezone.utc).date()


def publish_to_warehouse(
    config: JobConfig, *, run_id: str, tables: str, input_files: Sequence[str], summary: dict, schemas: dict
) -> dict:
    """Write the run's landing files from its published ``tables`` folder and commit the night; a
    record of what was committed (for the summary)."""
    catalog = open_catalog(config.warehouse)
    date = run_date(config)
    folder = landing_folder(landing_root(config.warehouse, catalog), run_id)
    published = files.list_files(tables)
    by_table = {name: [p for p in published if p.rsplit("/", 1)[-1].startswith(f"{name}-")] for name in TABLES}
    table_schemas = {name: warehouse_schema(name, schemas[name]) for name in TABLES}
    owners = entity_notes(by_table["entities"]) if by_table["codes"] else None  # only codes need it
    landing = {
        name: write_landing(name, by_table[name], table_schemas[name], folder, run_id, date, owners) for name in TABLES
    }
    replaced = night_note_ids(by_table["notes"] + by_table["rejects"])
    now = datetime.datetime.now(datetime.timezone.utc)
    ledger = {
        "run_id": run_id,
        "run_date": date,
        "started": now - datetime.timedelta(seconds=summary.get("seconds", 0.0)),
        "finished": now,
        "model_name": summary["model_name"],
        "model_version": summary["model_version"],
        "pipeline_version": summary["pipeline_version"],
        "runner": summary.get("runner", ""),
        "input_files": list(input_files),
        "notes_read": summary["notes_read"],
        "notes_tagged": summary["notes_tagged"],
        "notes_rejected": summary["notes_rejected"],
        "notes_unchanged": summary.get("notes_unchanged", 0),
        "entities": summary["entities"],
        "notes_replaced": len(replaced),
    }
    night = Night(run_id=run_id, run_date=date, landing=landing, replaced=replaced, ledger=ledger)
    done = commit_night(catalog, config.namespace, night, table_schemas)
    log.info("warehouse %s, namespace %s: run %s committed (%s)", config.warehouse, config.namespace, run_id, done)
    return {"warehouse": config.warehouse, "namespace": config.namespace, "run_date": date.isoformat(), **done}
