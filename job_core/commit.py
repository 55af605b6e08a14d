"""The launcher's one commit of a finished run: exactly the files of successful attempts.

Every task (bundle) attempt writes files of its own under ``<folder>/_tmp/``
(``job_core.table_files``); the engine returns the paths of the files whose attempt succeeded (a
runner drops the outputs of failed or duplicate attempts). Those paths are gathered into
``_written.json`` (``WRITTEN_FILE``, rewritten with the same content if that step runs twice) and,
once the engine has finished, the launcher calls ``commit_run`` once: it renames exactly those
files into place, skips the ones an interrupted earlier commit already moved, and deletes whatever
is left under ``_tmp`` (the files of failed attempts).
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from job_core import files
from job_core.outputs import read_json, write_json
from job_core.summary import RunFailed
from job_core.table_files import TMP_FOLDER

WRITTEN_FILE = "_written.json"


def commit(folder: str, written: Iterable[str], empty_tables: dict[str, pa.Schema]) -> list[str]:
    """Rename the files of successful attempts into ``folder``; write an empty file for a table
    that has none (readers always find its schema); delete the rest of ``_tmp``.

    Safe to repeat: a file whose rename an interrupted commit already made is left as it is.

    Raises:
        RunFailed: a file that a successful attempt reported is neither staged nor committed.
    """
    written = sorted(set(written))
    finals = [f"{folder}/{path.rsplit('/', 1)[-1]}" for path in written]
    pending = []
    for source, final in zip(written, finals):
        if files.exists(source):
            pending.append((source, final))
        elif not files.exists(final):
            raise RunFailed(f"a written file is missing: {source} (neither staged nor committed)")
    if pending:
        files.rename([s for s, _ in pending], [f for _, f in pending])
    for prefix, schema in empty_tables.items():
        if not any(p.rsplit("/", 1)[-1].startswith(prefix + "-") for p in finals):
            path = f"{folder}/{prefix}-empty.parquet"
            with files.create(path) as handle:
                pq.write_table(schema.empty_table(), handle)
            finals.append(path)
    files.delete_tree(f"{folder}/{TMP_FOLDER}")
    return finals


def record_written(folder: str, paths: Iterable[str]) -> None:
    """Write the successful attempts' file paths to ``folder/_written.json`` (for ``commit``)."""
    write_json(f"{folder}/{WRITTEN_FILE}", {"files": sorted(paths)})


def read_written(folder: str) -> list[str]:
    return read_json(f"{folder}/{WRITTEN_FILE}")["files"]


def commit_run(folder: str, empty_tables: dict[str, pa.Schema]) -> list[str]:
    """The launcher's one commit of a finished engine run: the files listed in ``_written.json``
    (``commit``), then the list itself is removed. Repeating it after an interruption gives the
    same folder."""
    finals = commit(folder, read_written(folder), empty_tables)
    files.delete([f"{folder}/{WRITTEN_FILE}"])
    return finals
