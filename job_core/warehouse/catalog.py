"""Which Iceberg catalog ``--warehouse`` names: a local folder is the embedded catalog, anything
else a catalog configured for pyiceberg.

The embedded catalog is a public contract: pyiceberg's ``SqlCatalog`` named ``clinical_ner`` on
SQLite at ``PATH/catalog.db`` with warehouse ``file://PATH``. Spark, Trino and pyiceberg users open
the same catalog with these settings (the README shows how). A name (``--warehouse prod``) is
looked up by ``pyiceberg.catalog.load_catalog``: ``~/.pyiceberg.yaml`` or ``PYICEBERG_CATALOG__*``
variables (REST, Glue, Hive, SQL on PostgreSQL).
"""

from __future__ import annotations

from pathlib import Path

from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.catalog.sql import SqlCatalog

from job_core.config import warehouse_is_folder

CATALOG_NAME = "clinical_ner"
DEFAULT_NAMESPACE = "clinical_ner"
CATALOG_FILE = "catalog.db"


def embedded_settings(folder: str) -> dict[str, str]:
    root = Path(folder).expanduser().resolve()
    return {"uri": f"sqlite:///{root / CATALOG_FILE}", "warehouse": f"file://{root}"}


def open_catalog(target: str) -> Catalog:
    """The catalog ``--warehouse`` names; an embedded one is created on first use."""
    if warehouse_is_folder(target):
        Path(target).expanduser().mkdir(parents=True, exist_ok=True)
        return SqlCatalog(CATALOG_NAME, **embedded_settings(target))
    return load_catalog(target)


def landing_root(target: str, catalog: Catalog) -> str:
    """Where runs' landing folders go: the embedded warehouse's folder, else the catalog's warehouse location."""
    if warehouse_is_folder(target):
        return str(Path(target).expanduser().resolve())
    location = catalog.properties.get("warehouse")
    if not location:
        raise ValueError(f"expected catalog {target!r} to have a 'warehouse' location for landing files, got none")
    return location.removeprefix("file://").rstrip("/")
