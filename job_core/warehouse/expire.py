"""Warehouse upkeep: expire old snapshots, then delete the data files no live snapshot needs.

pyiceberg's ``expire_snapshots`` (0.12) removes snapshots from the metadata but deletes no file,
and it has no orphan-file cleanup; this does both for the job's tables. A file is deleted only if
no snapshot that remains, of any of the job's tables, references it, and it is older than the
cutoff (a running night's landing files, not yet registered, are younger). The current snapshot
of every table is always kept, and so is the ledger's history.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from job_core import files
from job_core.warehouse.catalog import landing_root
from job_core.warehouse.landing import LANDING
from job_core.warehouse.schemas import TABLES

log = logging.getLogger("job_core.warehouse")


@dataclass(frozen=True)
class Expiry:
    """What an expiry removed (or, in a dry run, would remove)."""

    snapshots: dict[str, int]
    files: list[str]


def job_tables(catalog: Catalog, namespace: str) -> Iterator[Table]:
    for name in TABLES:
        try:
            yield catalog.load_table(f"{namespace}.{name}")
        except NoSuchTableError:
            continue


def local_path(uri: str) -> str:
    return uri.removeprefix("file://")


def candidate_files(root: str, tables: list[Table]) -> list[str]:
    """Data files under the landing folders and the tables' data folders."""
    folders = [f"{root}/{LANDING}"] + [f"{local_path(t.location())}/data" for t in tables]
    return sorted({path for folder in folders for path in files.match(f"{folder}/**.parquet")})


def older_than(path: str, cutoff: datetime.datetime) -> bool:
    if not files.is_local(path):
        return True  # object stores: the snapshot cutoff alone guards (their listing has no cheap mtime here)
    modified = datetime.datetime.fromtimestamp(Path(path).stat().st_mtime, tz=datetime.timezone.utc)
    return modified < cutoff


def expirable(table: Table, cutoff: datetime.datetime) -> list[int]:
    """Snapshots older than ``cutoff``, never the table's current one."""
    current = table.current_snapshot()
    keep = current.snapshot_id if current is not None else None
    return [
        s.snapshot_id for s in table.snapshots() if s.timestamp_ms < cutoff.timestamp() * 1000 and s.snapshot_id != keep
    ]


def live_files(table: Table, expired: set[int]) -> set[str]:
    """Data files the table's snapshots other than ``expired`` reference."""
    out: set[str] = set()
    for snapshot in table.snapshots():
        if snapshot.snapshot_id not in expired:
            out.update(local_path(p) for p in table.inspect.files(snapshot.snapshot_id).column("file_path").to_pylist())
    return out


def expire(catalog: Catalog, warehouse: str, namespace: str, cutoff: datetime.datetime, dry_run: bool) -> Expiry:
    """Expire the job's tables' snapshots older than ``cutoff`` (never a table's current one) and
    delete the files that no remaining snapshot references; with ``dry_run``, only say which."""
    tables = list(job_tables(catalog, namespace))
    old = {table.name()[-1]: expirable(table, cutoff) for table in tables}
    live: set[str] = set()
    for table in tables:
        live |= live_files(table, set(old[table.name()[-1]]))
        if old[table.name()[-1]] and not dry_run:
            table.maintenance.expire_snapshots().by_ids(old[table.name()[-1]]).commit()
    doomed = [
        p for p in candidate_files(landing_root(warehouse, catalog), tables) if p not in live and older_than(p, cutoff)
    ]
    if not dry_run:
        files.delete(doomed)
    expired = {name: len(ids) for name, ids in old.items()}
    log.info("expired %s snapshots; %s %d files", expired, "would delete" if dry_run else "deleted", len(doomed))
    return Expiry(snapshots=expired, files=doomed)
