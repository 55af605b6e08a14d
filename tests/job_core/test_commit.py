"""Safe under re-executed attempts: the files a task (bundle) attempt writes give the same published
tables when an engine runs it twice, or runs it, fails and runs it again; the launcher's one commit
can be interrupted and repeated. Both engines write and commit through these functions."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from job_core import files
from job_core.commit import WRITTEN_FILE, commit_run, read_written, record_written
from job_core.outputs import COUNTS_FILE, write_json
from job_core.summary import RunFailed
from job_core.table_files import TMP_FOLDER, TableFileWriter
from schemas import REJECT_SCHEMA, entity_schema

SCHEMAS = {"rejects": REJECT_SCHEMA, "entities": entity_schema()}
ROWS = [{"note_id": f"{i:03d}", "reason": "blank_text", "source_file": "f"} for i in range(50)]


def attempt(folder, rows, fail: bool = False) -> list[str]:
    """One attempt of a task that writes a table, as an engine runs it; ``fail``: it dies before
    its end, so the engine keeps no output of it."""
    writer = TableFileWriter(str(folder), "rejects", REJECT_SCHEMA, buffer_bytes=1)
    for row in rows:
        writer.add(row)
    outputs = [writer.close()]  # the file is complete on disk either way
    return [] if fail else outputs


def published_rows(folder) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("rejects-*.parquet")):
        rows += pq.read_table(path).to_pylist()
    return sorted(rows, key=lambda r: r["note_id"])


@pytest.mark.parametrize("history", ["failed-then-retried", "run-twice", "speculative-pair"])
def test_a_re_executed_write_bundle_publishes_its_rows_once(tmp_path, history):
    if history == "failed-then-retried":
        attempt(tmp_path, ROWS, fail=True)
        kept = attempt(tmp_path, ROWS)
    elif history == "run-twice":  # both attempts finished; the runner keeps the outputs of one
        kept = attempt(tmp_path, ROWS)
        attempt(tmp_path, ROWS, fail=True)
    else:  # a speculative copy finished first; the original's output was dropped
        other = attempt(tmp_path, ROWS)
        kept = attempt(tmp_path, ROWS)
        assert other != kept  # attempt-unique names: the two attempts never overwrite each other
    assert len(list((tmp_path / TMP_FOLDER).iterdir())) == 2
    record_written(str(tmp_path), kept)
    record_written(str(tmp_path), kept)  # the list-writing step run twice: the same list
    assert read_written(str(tmp_path)) == sorted(kept)
    commit_run(str(tmp_path), SCHEMAS)
    assert published_rows(tmp_path) == ROWS
    assert not (tmp_path / TMP_FOLDER).exists() and not (tmp_path / WRITTEN_FILE).exists()


def test_the_counts_step_run_twice_writes_the_same_file(tmp_path):
    counts = {"notes_read": 50, "notes_rejected": 50, "rejects_by_reason": {"blank_text": 50}}
    write_json(f"{tmp_path}/{COUNTS_FILE}", counts)
    first = (tmp_path / COUNTS_FILE).read_bytes()
    write_json(f"{tmp_path}/{COUNTS_FILE}", counts)
    assert (tmp_path / COUNTS_FILE).read_bytes() == first and json.loads(first) == counts


def test_a_commit_interrupted_halfway_and_repeated_gives_the_same_folder(tmp_path, monkeypatch):
    kept = attempt(tmp_path, ROWS[:20]) + attempt(tmp_path, ROWS[20:]) + attempt(tmp_path, ROWS[:5], fail=True)
    record_written(str(tmp_path), kept)
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / TMP_FOLDER).mkdir()
    for path in kept:  # the same files, committed without interruption
        name = path.rsplit("/", 1)[-1]
        (reference / TMP_FOLDER / name).write_bytes((tmp_path / TMP_FOLDER / name).read_bytes())
    record_written(str(reference), [f"{reference}/{TMP_FOLDER}/{p.rsplit('/', 1)[-1]}" for p in kept])
    clean = sorted(p.rsplit("/", 1)[-1] for p in commit_run(str(reference), SCHEMAS))

    real_rename = files.rename

    def dies_after_one(sources, destinations):
        real_rename(sources[:1], destinations[:1])
        raise OSError("launcher killed mid-commit")

    monkeypatch.setattr(files, "rename", dies_after_one)
    with pytest.raises(OSError, match="mid-commit"):
        commit_run(str(tmp_path), SCHEMAS)
    assert len(list(tmp_path.glob("rejects-*.parquet"))) == 1  # half done
    monkeypatch.setattr(files, "rename", real_rename)
    again = sorted(p.rsplit("/", 1)[-1] for p in commit_run(str(tmp_path), SCHEMAS))
    assert again == clean
    assert published_rows(tmp_path) == published_rows(reference) == ROWS
    assert not (tmp_path / TMP_FOLDER).exists()


def test_a_listed_file_that_vanished_fails_the_run(tmp_path):
    kept = attempt(tmp_path, ROWS)
    record_written(str(tmp_path), kept)
    files.delete(kept)
    with pytest.raises(RunFailed, match="a written file is missing"):
        commit_run(str(tmp_path), SCHEMAS)
