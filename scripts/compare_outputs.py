"""Compare the tables of two job outputs row for row and bit for bit.

``python scripts/compare_outputs.py OUTPUT_A OUTPUT_B``: for each table (entities, codes,
rejects) both outputs' rows are sorted by every column and compared exactly (float columns by
their bits), with ``pipeline_version`` left out when ``--ignore-pipeline-version`` is given.
Prints one line per table and exits 1 when any table differs. Only counts and column names are
printed, never a value (the tables hold note text).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TABLES = ("entities", "codes", "rejects")


def read_table(folder: Path, name: str) -> pa.Table:
    files = sorted(folder.glob(f"{name}-*.parquet"))
    tables = [pq.read_table(f) for f in files]
    return pa.concat_tables(tables) if tables else pa.table({})


def canonical(table: pa.Table, drop: Sequence[str]) -> pa.Table:
    table = table.drop_columns([c for c in drop if c in table.column_names])
    keys = [(c, "ascending") for c in table.column_names if not pa.types.is_list(table.schema.field(c).type)]
    return table.sort_by(keys) if keys else table


def compare(a: Path, b: Path, drop: Sequence[str] = ()) -> list[tuple[str, int, int, bool]]:
    """Per table: its name, the rows in each output and whether the tables are equal."""
    out = []
    for name in TABLES:
        left, right = canonical(read_table(a, name), drop), canonical(read_table(b, name), drop)
        same = left.schema.equals(right.schema) and left.equals(right)
        out.append((name, left.num_rows, right.num_rows, same))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--ignore-pipeline-version", action="store_true")
    args = p.parse_args(argv)
    drop = ["pipeline_version"] if args.ignore_pipeline_version else []
    results = compare(args.a, args.b, drop)
    for name, n_a, n_b, same in results:
        print(f"{name}: {n_a:,} rows vs {n_b:,} rows: {'identical' if same else 'DIFFERENT'}")
    return 0 if all(same for *_, same in results) else 1


if __name__ == "__main__":
    sys.exit(main())
