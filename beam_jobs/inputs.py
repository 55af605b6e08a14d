"""Finding and checking input files before any worker starts, and reading their rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from schemas import SchemaError, check_note_schema, passthrough_fields


@dataclass(frozen=True)
class InputPlan:
    """The files of a run, their row groups, and the passthrough fields."""

    files: tuple[str, ...]
    row_groups: tuple[tuple[str, int], ...]
    passthrough: tuple[pa.Field, ...]
    rows: int


def expand_globs(globs: Sequence[str]) -> list[str]:
    """Matched files, sorted and deduplicated; a glob that matches nothing is an error."""
    files: list[str] = []
    for pattern in globs:
        matched = [m.path for result in FileSystems.match([pattern]) for m in result.metadata_list]
        if not matched:
            raise SchemaError(f"{pattern}: no input file matches")
        files.extend(matched)
    return sorted(set(files))


def plan_inputs(globs: Sequence[str], passthrough: Sequence[str]) -> InputPlan:
    """Read every matched file's footer and refuse the run if any is unusable."""
    files = expand_globs(globs)
    row_groups: list[tuple[str, int]] = []
    fields: list[pa.Field] | None = None
    rows = 0
    for path in files:
        try:
            with FileSystems.open(path) as handle:
                metadata = pq.ParquetFile(handle).metadata
                schema = metadata.schema.to_arrow_schema()
        except (OSError, pa.ArrowInvalid) as err:
            raise SchemaError(f"{path}: not a readable Parquet file ({type(err).__name__})") from None
        check_note_schema(schema, path)
        these = passthrough_fields(schema, passthrough, path)
        if fields is None:
            fields = these
        elif [f.type for f in these] != [f.type for f in fields]:
            raise SchemaError(f"{path}: passthrough column types differ from {files[0]}")
        row_groups.extend((path, i) for i in range(metadata.num_row_groups))
        rows += metadata.num_rows
    return InputPlan(tuple(files), tuple(row_groups), tuple(fields or ()), rows)


class ReadRowGroup(beam.DoFn):
    """(file, row group) → one dict per row: note_id, text, passthrough values, source_file, row."""

    def __init__(self, passthrough: Sequence[str]):
        self._columns = ["note_id", "text", *passthrough]
        self._passthrough = tuple(passthrough)

    def process(self, item: tuple[str, int]) -> Iterator[dict]:
        path, group = item
        with FileSystems.open(path) as handle:
            parquet = pq.ParquetFile(handle)
            table = parquet.read_row_group(group, columns=self._columns)
            first_row = sum(parquet.metadata.row_group(i).num_rows for i in range(group))
        columns = table.to_pydict()
        for i in range(table.num_rows):
            yield {
                "note_id": columns["note_id"][i],
                "text": columns["text"][i],
                "passthrough": tuple(columns[c][i] for c in self._passthrough),
                "source_file": path,
                "row": first_row + i,
            }
