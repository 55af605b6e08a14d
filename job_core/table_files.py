"""Writing one task's rows of a table to one Parquet file, with bounded memory.

``TableFileWriter`` takes rows (dicts) or Arrow record batches as they come, converts every few
thousand rows to a record batch and writes a row group once ``buffer_bytes`` of them are held, so
a writer holds at most one row group whatever the night's size. Each writer (one per bundle
attempt on Beam, one per task attempt on Spark) writes a file of its own, named by a fresh UUID,
under ``<folder>/_tmp/``: a retried or speculative attempt never overwrites another's file, and
the launcher's commit (``job_core.commit``) keeps exactly the files that successful attempts
reported.
"""

from __future__ import annotations

import uuid

import pyarrow as pa
import pyarrow.parquet as pq

from job_core import files

TMP_FOLDER = "_tmp"
CHUNK_ROWS = 4096  # rows kept as Python dicts before they become an Arrow record batch


def staged_path(folder: str, prefix: str) -> str:
    """A new attempt-unique file name for table ``prefix`` in ``folder``'s staging area."""
    return f"{folder}/{TMP_FOLDER}/{prefix}-{uuid.uuid4().hex}.parquet"


class TableFileWriter:
    """Rows of ``schema`` → one Parquet file under ``<folder>/_tmp/``, created on the first row group."""

    def __init__(self, folder: str, prefix: str, schema: pa.Schema, buffer_bytes: int = 16 << 20):
        self._folder, self._prefix, self._schema, self._buffer_bytes = folder, prefix, schema, buffer_bytes
        self._rows: list[dict] = []
        self._batches: list[pa.RecordBatch] = []
        self._buffered = 0
        self._handle = self._writer = None
        self.path: str | None = None

    def add(self, row: dict | pa.RecordBatch) -> None:
        if isinstance(row, pa.RecordBatch):  # rows already in columns: kept as they are
            self._to_batch()
            self._batches.append(row)
            self._buffered += row.nbytes
        else:
            self._rows.append(row)
            if len(self._rows) < CHUNK_ROWS:
                return
            self._to_batch()
        if self._buffered >= self._buffer_bytes:
            self._write_row_group()

    def _to_batch(self) -> None:
        if self._rows:
            batch = pa.RecordBatch.from_pylist(self._rows, schema=self._schema)
            self._batches.append(batch)
            self._buffered += batch.nbytes
            self._rows = []

    def _write_row_group(self) -> None:
        if not self._batches:
            return
        if self._writer is None:
            self.path = staged_path(self._folder, self._prefix)
            self._handle = files.create(self.path)
            self._writer = pq.ParquetWriter(self._handle, self._schema)
        table = pa.Table.from_batches(self._batches, schema=self._schema)
        self._writer.write_table(table, row_group_size=table.num_rows)
        self._batches, self._buffered = [], 0

    def close(self) -> str | None:
        """Write what is left; the file's path, or None if no row came."""
        self._to_batch()
        self._write_row_group()
        if self._writer is not None:
            self._writer.close()
            self._handle.close()
            self._writer = self._handle = None
        return self.path
