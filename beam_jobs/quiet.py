"""Import Beam without the one warning it prints on every run about a part the job never uses.

``apache_beam.io.gcp.internal.clients.bigquery`` logs "apitools not found, and bigquery client
libraries are not available..." through the root logger whenever ``google-apitools`` (Beam's
``[gcp]`` extra, for BigQuery) is absent; ``import apache_beam`` always imports that module. The
job reads and writes Parquet and never touches BigQuery, so that record, and only that one
(matched by the module that logs it), is dropped while Beam is first imported. A root-logger
call with no handler configured would also install Python's default handler, whose
``WARNING:root:`` format then hides the job's own log format, so a ``NullHandler`` stands in
during the import. Every other warning of the import passes as before.

(Beam's other routine warning, "Resource module is not available for current platform", comes
from ``apache_beam.ml.inference.base`` when ``scipy`` is missing, which its model manager needs:
it is fixed at its source by ``scipy`` in the requirements.)
"""

from __future__ import annotations

import importlib
import logging
import sys

BIGQUERY_CLIENTS = "apache_beam.io.gcp.internal.clients.bigquery"
_BIGQUERY_FILE = BIGQUERY_CLIENTS.replace(".", "/") + "/__init__.py"


def from_bigquery_clients(record: logging.LogRecord) -> bool:
    return record.pathname.replace("\\", "/").endswith(_BIGQUERY_FILE)


class _DropBigQueryNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not from_bigquery_clients(record)


def import_beam_quietly() -> None:
    """Import ``apache_beam`` (once) with the BigQuery-clients notice filtered out."""
    if BIGQUERY_CLIENTS in sys.modules:
        return
    root = logging.getLogger()
    drop, stand_in = _DropBigQueryNotice(), logging.NullHandler()
    root.addFilter(drop)
    added = not root.handlers
    if added:
        root.addHandler(stand_in)
    try:
        importlib.import_module("apache_beam")
        importlib.import_module(BIGQUERY_CLIENTS)
    finally:
        root.removeFilter(drop)
        if added:
            root.removeHandler(stand_in)
