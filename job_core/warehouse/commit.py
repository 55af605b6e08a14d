"""Committing a published night to the warehouse: one transaction per table, the ledger row last.

Each of ``entities``, ``codes`` and ``rejects`` gets one transaction: delete the rows of the notes
the night covers (a note's new rows replace its old ones; notes absent from the night keep theirs:
an export delta is not a deletion), then ``add_files`` the run's landing files, with the run id in
the snapshots' summary properties (``RUN_PROPERTY``). The ``runs`` ledger row is appended last: it
is the publish marker, and readers that need a consistent night read the ledger first.

A rerun of the same run skips every table whose history already holds its run id, so a run that
failed between two commits is completed without duplicates. A rerun under a new run id is safe
too: its deletes remove what a half-committed earlier attempt added for the same notes.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError, ValidationException
from pyiceberg.expressions import EqualTo, In
from pyiceberg.table import Table

from job_core.summary import RunFailed
from job_core.warehouse.schemas import LEDGER, PARTITION_COLUMN, RUNS_SCHEMA, TABLES

log = logging.getLogger("job_core.warehouse")
RUN_PROPERTY = "clinical_ner.run_id"


class WarehouseConflict(RunFailed):
    """Another writer changed a table while this run committed; a rerun completes the night."""


@dataclass(frozen=True)
class Night:
    """What one run commits: its id and date, each table's landing files, and the notes it replaces."""

    run_id: str
    run_date: datetime.date
    landing: Mapping[str, Sequence[str]]
    replaced: Sequence[str]
    ledger: Mapping


def ensure_table(catalog: Catalog, namespace: str, name: str, schema: pa.Schema, partitioned: bool = True) -> Table:
    """The table, created on first use (identity partition on ``run_date``)."""
    identifier = f"{namespace}.{name}"
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        pass
    catalog.create_namespace_if_not_exists(namespace)
    table = catalog.create_table_if_not_exists(identifier, schema=schema)
    if partitioned and len(table.spec().fields) == 0:
        with table.update_spec() as update:
            update.add_identity(PARTITION_COLUMN)
        table = catalog.load_table(identifier)
    return table


def committed_runs(table: Table) -> set[str]:
    """Run ids recorded in the table's snapshot history."""
    return {s.summary.additional_properties.get(RUN_PROPERTY) for s in table.snapshots() if s.summary} - {None}


def ledger_runs(table: Table) -> set[str]:
    if table.current_snapshot() is None:
        return set()
    return set(table.scan(selected_fields=("run_id",)).to_arrow().column("run_id").to_pylist())


def commit_table(table: Table, night: Night, files: Iterable[str]) -> bool:
    """One transaction: delete the replaced notes' rows, register the landing files. False if there
    is nothing to do, or this run is already in the table's history."""
    files = list(files)
    delete = bool(night.replaced) and table.current_snapshot() is not None
    if not (files or delete) or night.run_id in committed_runs(table):
        return False
    properties = {RUN_PROPERTY: night.run_id}
    with table.transaction() as tx:
        if delete:
            tx.delete(In("note_id", list(night.replaced)), snapshot_properties=properties)
        if files:
            tx.add_files(files, snapshot_properties=properties)
    return True


def append_ledger(table: Table, night: Night) -> bool:
    if night.run_id in ledger_runs(table):
        return False
    row = pa.Table.from_pylist([dict(night.ledger)], schema=RUNS_SCHEMA)
    table.append(row, snapshot_properties={RUN_PROPERTY: night.run_id})
    return True


def commit_night(catalog: Catalog, namespace: str, night: Night, schemas: Mapping[str, pa.Schema]) -> dict[str, bool]:
    """Commit every table of the night, then its ledger row; which tables this call changed.

    Raises:
        WarehouseConflict: another writer committed to a table at the same moment (its retries ran out).
    """
    done = {}
    try:
        for name in TABLES:
            table = ensure_table(catalog, namespace, name, schemas[name])
            done[name] = commit_table(table, night, night.landing.get(name, ()))
            log.info("warehouse %s.%s: %s", namespace, name, "committed" if done[name] else "already holds this run")
        ledger = ensure_table(catalog, namespace, LEDGER, RUNS_SCHEMA, partitioned=False)
        done[LEDGER] = append_ledger(ledger, night)
    except (CommitFailedException, ValidationException) as err:
        raise WarehouseConflict(
            f"the warehouse changed while run {night.run_id} committed ({type(err).__name__}: another job writing "
            "it?); nothing is duplicated: rerun the night with --run-id to complete it"
        ) from None
    return done


def night_rows(catalog: Catalog, namespace: str, table: str, run_id: str) -> pa.Table:
    """The rows a table holds for one run (for readers and tests)."""
    return catalog.load_table(f"{namespace}.{table}").scan(row_filter=EqualTo("run_id", run_id)).to_arrow()
