"""Finding and checking input files before any worker starts, and reading their rows as a stream.

The unit of work is a ``WorkItem``: a range of rows of one row group. A row group larger than
``rows_per_item`` is cut into several items so that several workers share it, and an item is
read as a stream of record batches, so a worker never holds a whole row group (Spark and pandas
exports often write a million rows in one).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from job_core import files
from job_core.note_batch import NoteBatch
from schemas import SchemaError, check_note_schema, passthrough_fields

# Rows decoded at a time while streaming an item: about 2 MB of text for 8 KB notes (a Python
# str of a note with one non-Latin-1 character takes 4 bytes a character, so a batch held as
# Python strings is up to 4 times that). Smaller than a typical row group, so a single huge row
# group streams in the same steps as many small ones.
READ_BATCH_ROWS = 256
# Bytes read ahead per column: pages stream in this size instead of a whole column chunk at once.
# pyarrow pre-buffers whole column chunks by default (``pre_buffer=True``), which ignores this
# buffer: a single 100 MB row group then sits in memory, compressed, while any part of it is read,
# in every worker that reads one of its items. ``read_item`` turns pre-buffering off.
READ_BUFFER_BYTES = 1 << 20


@dataclass(frozen=True)
class WorkItem:
    """Rows ``[start, stop)`` of row group ``group`` of ``path``; ``first_row`` is the file row
    number of the row group's first row (rows are numbered across the whole file)."""

    path: str
    group: int
    first_row: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class Columns:
    """Which input columns hold the id, the text and the passthrough values."""

    id_column: str = "note_id"
    text_column: str = "text"
    passthrough: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [self.id_column, self.text_column, *self.passthrough]


@dataclass(frozen=True)
class InputPlan:
    """The files of a run, their work items, the passthrough fields and the footer row total."""

    files: tuple[str, ...]
    items: tuple[WorkItem, ...]
    passthrough: tuple[pa.Field, ...]
    rows: int


def expand_globs(globs: Sequence[str]) -> list[str]:
    """Matched files, sorted and deduplicated; a glob that matches nothing is an error."""
    found: list[str] = []
    for pattern in globs:
        matched = files.match(pattern)
        if not matched:
            raise SchemaError(f"{pattern}: no input file matches")
        found.extend(matched)
    return sorted(set(found))


def split_row_group(path: str, group: int, first_row: int, num_rows: int, rows_per_item: int) -> list[WorkItem]:
    """Work items of at most ``rows_per_item`` rows covering one row group (none if it is empty)."""
    if rows_per_item < 1:
        raise ValueError(f"expected rows_per_item >= 1, got {rows_per_item}")
    return [
        WorkItem(path, group, first_row, s, min(s + rows_per_item, num_rows)) for s in range(0, num_rows, rows_per_item)
    ]


def plan_inputs(globs: Sequence[str], columns: Columns, rows_per_item: int = 20_000) -> InputPlan:
    """Read every matched file's footer and refuse the run if any is unusable."""
    paths = expand_globs(globs)
    items: list[WorkItem] = []
    fields: list[pa.Field] | None = None
    rows = 0
    for path in paths:
        try:
            with files.open_input(path) as handle:
                metadata = pq.ParquetFile(handle).metadata
                schema = metadata.schema.to_arrow_schema()
        except (OSError, pa.ArrowInvalid) as err:
            raise SchemaError(f"{path}: not a readable Parquet file ({type(err).__name__})") from None
        check_note_schema(schema, path, columns.id_column, columns.text_column)
        these = passthrough_fields(schema, columns.passthrough, path)
        if fields is None:
            fields = these
        elif [f.type for f in these] != [f.type for f in fields]:
            raise SchemaError(f"{path}: passthrough column types differ from {paths[0]}")
        first_row = 0
        for group in range(metadata.num_row_groups):
            n = metadata.row_group(group).num_rows
            items.extend(split_row_group(path, group, first_row, n, rows_per_item))
            first_row += n
        rows += metadata.num_rows
    return InputPlan(tuple(paths), tuple(items), tuple(fields or ()), rows)


def read_item(
    item: WorkItem, names: Sequence[str], batch_rows: int = READ_BATCH_ROWS
) -> Iterator[tuple[int, pa.RecordBatch]]:
    """Stream an item's rows as ``(file row of the batch's first row, record batch)``.

    Batches before ``item.start`` are decoded and dropped (Parquet has no row seek within a
    row group that pyarrow exposes): cheap next to tagging, and memory stays at one batch.
    """
    with files.open_input(item.path) as handle:
        parquet = pq.ParquetFile(handle, buffer_size=READ_BUFFER_BYTES, pre_buffer=False)
        position = 0
        for batch in parquet.iter_batches(
            batch_size=batch_rows, row_groups=[item.group], columns=list(names), use_threads=False
        ):
            lo, hi = max(item.start - position, 0), min(item.stop - position, batch.num_rows)
            if lo < hi:
                yield item.first_row + position + lo, batch.slice(lo, hi - lo)
            position += batch.num_rows
            if position >= item.stop:
                return


def id_strings(column: pa.Array) -> list[str | None]:
    """Note ids as strings: integers become their decimal string; nulls stay None."""
    if pa.types.is_integer(column.type):
        return [None if v is None else str(v) for v in column.to_pylist()]
    return column.to_pylist()


def item_batches(item: WorkItem, columns: Columns) -> Iterator[NoteBatch]:
    """An item's rows as ``NoteBatch`` objects, one per record batch read (no dict per row)."""
    for first, batch in read_item(item, columns.names):
        passthrough = tuple(batch.column(2 + i) for i in range(len(columns.passthrough)))
        yield NoteBatch(
            item.path,
            list(range(first, first + batch.num_rows)),
            id_strings(batch.column(0)),
            batch.column(1).to_pylist(),
            passthrough,
        )


@dataclass(frozen=True)
class BatchReader:
    """A picklable ``item_batches`` for given columns: work item → NoteBatches."""

    columns: Columns

    def __call__(self, item: WorkItem) -> Iterator[NoteBatch]:
        return item_batches(item, self.columns)
