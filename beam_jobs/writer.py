"""``WriteTable``: a table's rows → Parquet files, written in the step that produces them.

Each bundle attempt writes its own file (``job_core.table_files.TableFileWriter``), running fused
with the step that makes the rows (Beam's ``WriteToParquet`` takes a side input, which constrains
how a runner may fuse it). The step's output is the paths of the files whose bundle succeeded: the
runner drops the outputs of failed or duplicate attempts, and the launcher commits exactly those
(``job_core.commit``).
"""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from job_core.table_files import TableFileWriter


class _WriteBundles(beam.DoFn):
    def __init__(self, folder: str, prefix: str, schema: pa.Schema, buffer_bytes: int):
        self._args = (folder, prefix, schema, buffer_bytes)

    def start_bundle(self) -> None:
        self._writer = TableFileWriter(*self._args)

    def process(self, row: dict | pa.RecordBatch) -> None:
        self._writer.add(row)

    def finish_bundle(self):
        path = self._writer.close()
        if path is not None:
            yield WindowedValue(path, GlobalWindow().max_timestamp(), [GlobalWindow()])


class WriteTable(beam.PTransform):
    """Rows (dicts of ``schema``, or record batches of it) → Parquet files
    ``<folder>/_tmp/<prefix>-*.parquet``; outputs their paths."""

    def __init__(self, folder: str, prefix: str, schema: pa.Schema, buffer_bytes: int = 16 << 20):
        super().__init__()
        self._args = (folder, prefix, schema, buffer_bytes)

    def expand(self, rows):
        return rows | beam.ParDo(_WriteBundles(*self._args))
