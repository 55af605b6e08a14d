"""Writing table rows to Parquet in the step that produces them, with bounded memory.

``WriteTable`` writes each bundle's rows into its own file as they come, converting every few
thousand rows to an Arrow record batch and writing a row group once ``buffer_bytes`` of them are
held, so a writer holds at most one row group whatever the night's size; it runs fused with the
step that makes the rows (Beam's ``WriteToParquet`` takes a side input, which constrains how a
runner may fuse it).

Retried bundles must not leave duplicate rows: every bundle attempt writes a file of its own,
named by a fresh UUID, under ``<folder>/_tmp/``; the step's output is the paths of the files
whose bundle succeeded (a runner drops the outputs of failed or duplicate attempts). The job
gathers those paths into ``_written.json`` (``WRITTEN_FILE``, rewritten with the same content if
that step runs twice) and, once the pipeline has finished, the launcher calls ``commit`` once:
it renames exactly those files into place, skips the ones an interrupted earlier commit already
moved, and deletes whatever is left under ``_tmp`` (the files of failed attempts).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from beam_jobs.outputs import delete_tree, read_json, write_json
from beam_jobs.summary import RunFailed

TMP_FOLDER = "_tmp"
WRITTEN_FILE = "_written.json"
CHUNK_ROWS = 4096  # rows kept as Python dicts before they become an Arrow record batch


class _WriteBundles(beam.DoFn):
    def __init__(self, folder: str, prefix: str, schema: pa.Schema, buffer_bytes: int):
        self._folder, self._prefix, self._schema, self._buffer_bytes = folder, prefix, schema, buffer_bytes

    def start_bundle(self) -> None:
        self._rows: list[dict] = []
        self._batches: list[pa.RecordBatch] = []
        self._buffered = 0
        self._handle = self._writer = self._path = None

    def process(self, row: dict | pa.RecordBatch) -> None:
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
            self._path = f"{self._folder}/{TMP_FOLDER}/{self._prefix}-{uuid.uuid4().hex}.parquet"
            self._handle = FileSystems.create(self._path)
            self._writer = pq.ParquetWriter(self._handle, self._schema)
        table = pa.Table.from_batches(self._batches, schema=self._schema)
        self._writer.write_table(table, row_group_size=table.num_rows)
        self._batches, self._buffered = [], 0

    def finish_bundle(self):
        self._to_batch()
        self._write_row_group()
        if self._writer is not None:
            self._writer.close()
            self._handle.close()
            yield WindowedValue(self._path, GlobalWindow().max_timestamp(), [GlobalWindow()])


class WriteTable(beam.PTransform):
    """Rows (dicts of ``schema``, or record batches of it) → Parquet files
    ``<folder>/_tmp/<prefix>-*.parquet``; outputs their paths."""

    def __init__(self, folder: str, prefix: str, schema: pa.Schema, buffer_bytes: int = 16 << 20):
        super().__init__()
        self._args = (folder, prefix, schema, buffer_bytes)

    def expand(self, rows):
        return rows | beam.ParDo(_WriteBundles(*self._args))


def commit(folder: str, written: Iterable[str], empty_tables: dict[str, pa.Schema]) -> list[str]:
    """Rename the files of successful bundles into ``folder``; write an empty file for a table
    that has none (readers always find its schema); delete the rest of ``_tmp``.

    Safe to repeat: a file whose rename an interrupted commit already made is left as it is.

    Raises:
        RunFailed: a file that a successful bundle reported is neither staged nor committed.
    """
    written = sorted(set(written))
    finals = [f"{folder}/{path.rsplit('/', 1)[-1]}" for path in written]
    pending = []
    for source, final in zip(written, finals):
        if FileSystems.exists(source):
            pending.append((source, final))
        elif not FileSystems.exists(final):
            raise RunFailed(f"a written file is missing: {source} (neither staged nor committed)")
    if pending:
        FileSystems.rename([s for s, _ in pending], [f for _, f in pending])
    for prefix, schema in empty_tables.items():
        if not any(p.rsplit("/", 1)[-1].startswith(prefix + "-") for p in finals):
            path = f"{folder}/{prefix}-empty.parquet"
            with FileSystems.create(path) as handle:
                pq.write_table(schema.empty_table(), handle)
            finals.append(path)
    delete_tree(f"{folder}/{TMP_FOLDER}")
    return finals


def record_written(folder: str, paths: Iterable[str]) -> None:
    """Write the successful bundles' file paths to ``folder/_written.json`` (for ``commit``)."""
    write_json(f"{folder}/{WRITTEN_FILE}", {"files": sorted(paths)})


def read_written(folder: str) -> list[str]:
    return read_json(f"{folder}/{WRITTEN_FILE}")["files"]


def commit_run(folder: str, empty_tables: dict[str, pa.Schema]) -> list[str]:
    """The launcher's one commit of a finished pipeline: the files listed in ``_written.json``
    (``commit``), then the list itself is removed. Repeating it after an interruption gives the
    same folder."""
    finals = commit(folder, read_written(folder), empty_tables)
    FileSystems.delete([f"{folder}/{WRITTEN_FILE}"])
    return finals
