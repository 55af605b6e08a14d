"""Cluster-scale reliability: streamed row groups, duplicates by content, safe model fetch, no bad publish."""

import json
import multiprocessing as mp
import os
import shutil
import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_jobs import pipeline
from beam_jobs.handler import TaggerModelHandler
from beam_jobs.tag_notes import main, run
from job_core import launch
from job_core.inputs import Columns, item_batches, plan_inputs, read_item
from job_core.notes import duplicate_verdicts
from job_core.outputs import LATEST_FILE, published_folder, run_folders
from job_core.summary import RunFailed, publish_problems
from nercore.sources import ModelVersionError, fetch_remote_folder, folder_version
from tests.beam_jobs.test_job import RUNNER, read_dir
from tests.fakes import FakeHandler, FakeTagger

SCHEMA = pa.schema([("note_id", pa.string()), ("text", pa.string()), ("patient_id", pa.string())])


def write(path, rows, row_group_size=None):
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path, row_group_size=row_group_size)
    return path


def notes(n, prefix="n"):
    return [{"note_id": f"{prefix}{i}", "text": f"pneumonia case {i}", "patient_id": f"P{i % 3}"} for i in range(n)]


def test_rows_are_numbered_across_row_groups_and_items(tmp_path):
    path = write(tmp_path / "a.parquet", notes(11), row_group_size=4)  # row groups of 4, 4, 3
    plan = plan_inputs([str(path)], Columns(), rows_per_item=3)
    assert [(i.group, i.start, i.stop) for i in plan.items] == [(0, 0, 3), (0, 3, 4), (1, 0, 3), (1, 3, 4), (2, 0, 3)]
    batches = [b for item in plan.items for b in item_batches(item, Columns(passthrough=("patient_id",)))]
    assert [r for b in batches for r in b.rows] == list(range(11))
    assert [i for b in batches for i in b.note_ids] == [f"n{i}" for i in range(11)]
    assert [p for b in batches for (p,) in b.passthrough_values()] == [f"P{i % 3}" for i in range(11)]
    assert plan.rows == 11


def test_a_huge_row_group_is_split_into_items_read_as_bounded_batches(tmp_path):
    path = write(tmp_path / "big.parquet", notes(2500))  # one row group
    assert pq.ParquetFile(path).metadata.num_row_groups == 1
    plan = plan_inputs([str(path)], Columns(), rows_per_item=1000)
    assert [i.rows for i in plan.items] == [1000, 1000, 500]
    batches = list(read_item(plan.items[1], ["note_id", "text"], batch_rows=300))
    assert max(b.num_rows for _, b in batches) <= 300
    assert sum(b.num_rows for _, b in batches) == 1000 and batches[0][0] == 1000
    summary = run(
        ["--input", str(path), "--output", str(tmp_path / "out"), "--rows-per-item", "1000", *RUNNER],
        handler=FakeHandler(),
    )
    assert summary["notes_read"] == summary["notes_tagged"] == 2500 == summary["notes_in_footers"]


def test_reading_an_item_never_holds_its_whole_column_chunk(tmp_path):
    # pyarrow pre-buffers whole column chunks by default: one huge row group then sits in memory
    # (as Python bytes read through Beam's file handle) while any item of it is read.
    # Incompressible text makes the chunk large (~25 MB); pages of 64 rows (0.5 MB, about what
    # Spark writes) keep one page small next to it.
    rows = [{"note_id": f"n{i}", "text": os.urandom(4096).hex(), "patient_id": "P"} for i in range(3000)]
    path = tmp_path / "one.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path, write_batch_size=64)
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(1).total_compressed_size
    assert chunk > 20_000_000
    plan = plan_inputs([str(path)], Columns(), rows_per_item=1000)
    tracemalloc.start()
    try:
        before, arrow_held = pa.total_allocated_bytes(), 0
        for _, batch in read_item(plan.items[2], ["note_id", "text"], batch_rows=64):
            arrow_held = max(arrow_held, pa.total_allocated_bytes() - before)
            assert batch.num_rows <= 64
        python_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # 64 rows × 8 KB decoded (0.5 MB) + 1 MiB read buffer + one page: far below the chunk
    held = arrow_held + python_peak
    assert held < chunk / 3, (
        f"reader held {held} bytes ({arrow_held} Arrow, {python_peak} Python) for a {chunk}-byte column chunk"
    )


def test_the_first_copy_in_file_and_row_order_is_kept():
    verdicts = dict(duplicate_verdicts("d", [("h", "b.parquet", 0), ("h", "a.parquet", 9), ("h", "a.parquet", 2)]))
    assert verdicts == {
        ("a.parquet", 9): {"note_id": "d", "reason": "duplicate_note_id", "source_file": "a.parquet"},
        ("b.parquet", 0): {"note_id": "d", "reason": "duplicate_note_id", "source_file": "b.parquet"},
    }
    conflict = dict(duplicate_verdicts("d", [("h1", "a.parquet", 0), ("h2", "a.parquet", 1)]))
    assert {v["reason"] for v in conflict.values()} == {"conflicting_duplicate_note_id"} and len(conflict) == 2
    assert list(duplicate_verdicts("u", [("h", "a.parquet", 0)])) == []


def test_same_id_and_text_but_other_passthrough_values_conflict(tmp_path):
    rows = [
        {"note_id": "x", "text": "pneumonia", "patient_id": "P1"},
        {"note_id": "x", "text": "pneumonia", "patient_id": "P2"},
        {"note_id": "y", "text": "sepsis", "patient_id": "P1"},
        {"note_id": "y", "text": "sepsis", "patient_id": "P1"},
    ]
    path = write(tmp_path / "n.parquet", rows, row_group_size=1)
    summary = run(
        ["--input", str(path), "--output", str(tmp_path / "out"), "--passthrough", "patient_id", *RUNNER],
        handler=FakeHandler(),
    )
    assert summary["rejects_by_reason"] == {"conflicting_duplicate_note_id": 2, "duplicate_note_id": 1}
    assert summary["notes_tagged"] == 1


def test_zero_row_file_publishes_an_empty_run(tmp_path):
    path = write(tmp_path / "empty.parquet", [])
    summary = run(["--input", str(path), "--output", str(tmp_path / "out"), *RUNNER], handler=FakeHandler())
    assert (summary["notes_in_footers"], summary["notes_read"], summary["notes_tagged"], summary["notes_rejected"]) == (
        0,
        0,
        0,
        0,
    )
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["notes_read"] == 0


class FailingTagger(FakeTagger):
    def tag_detailed(self, texts):
        raise RuntimeError("CUDA context is broken")


class FailingHandler(FakeHandler):
    def load_model(self):
        return FailingTagger()


def test_a_run_where_inference_fails_does_not_replace_the_last_good_output(tmp_path, capsys, monkeypatch):
    path = write(tmp_path / "n.parquet", notes(20))
    out = tmp_path / "out"
    good = run(["--input", str(path), "--output", str(out), *RUNNER], handler=FakeHandler())
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(RunFailed, match="20 of 20 notes failed in inference"):
        run(["--input", str(path), "--output", str(out), *RUNNER], handler=FailingHandler())
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert json.loads((out / "summary.json").read_text())["run_id"] == good["run_id"]
    assert not list(tmp_path.glob("out.staging-*"))
    # From the command line: one line, exit code 1.
    monkeypatch.setattr(pipeline, "make_handler", lambda config, model_version: FailingHandler())
    assert main(["--input", str(path), "--output", str(out), *RUNNER]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: 20 of 20 notes failed in inference") and "previous output is unchanged" in err[-1]


def test_rows_read_must_match_the_footers(tmp_path, monkeypatch):
    path = write(tmp_path / "n.parquet", notes(9), row_group_size=3)
    real_plan = launch.plan_inputs

    def lose_an_item(*args, **kwargs):
        plan = real_plan(*args, **kwargs)
        return type(plan)(plan.files, plan.items[:-1], plan.passthrough, plan.rows)

    monkeypatch.setattr(launch, "plan_inputs", lose_an_item)
    with pytest.raises(RunFailed, match="read 6 notes but the files' footers hold 9 rows"):
        run(["--input", str(path), "--output", str(tmp_path / "out"), *RUNNER], handler=FakeHandler())
    assert not (tmp_path / "out").exists()
    summary = {
        "notes_in_footers": 10,
        "notes_read": 10,
        "notes_tagged": 9,
        "notes_rejected": 1,
        "rejects_by_reason": {"inference_failed": 1},
    }
    assert publish_problems(summary, 0.1) == []
    assert publish_problems(summary, 0.05) == [
        "1 of 10 notes failed in inference (more than --max-failed-fraction 0.05)"
    ]


def test_versioned_publish_writes_latest_last_and_keeps_one_previous_run(tmp_path):
    path = write(tmp_path / "n.parquet", notes(5))
    out = tmp_path / "out"
    args = ["--input", str(path), "--output", str(out), "--publish", "versioned", *RUNNER]
    first = run(args, handler=FakeHandler())
    (out / "runs" / "20000101T000000Z-deadbeef").mkdir()  # a run that died before cleaning up
    second = run(args, handler=FakeHandler())
    latest = json.loads((out / LATEST_FILE).read_text())
    assert latest["run_id"] == second["run_id"] and published_folder(str(out)) == latest["folder"] == second["output"]
    assert sorted(run_folders(str(out))) == sorted([first["run_id"], second["run_id"]])
    assert {f for f in latest["files"] if f.startswith("entities-")} and "summary.json" in latest["files"]
    with pytest.raises(RunFailed):
        run(args, handler=FailingHandler())
    assert json.loads((out / LATEST_FILE).read_text()) == latest
    assert sorted(run_folders(str(out))) == sorted([first["run_id"], second["run_id"]])
    third = run(args, handler=FakeHandler())
    assert sorted(run_folders(str(out))) == sorted([second["run_id"], third["run_id"]])
    assert read_dir(tmp_path / published_folder(str(out)), "entities").num_rows == 5


def _fetch_many(args):
    """Fetch and then read every file of what was fetched, as a loading worker does."""
    from pathlib import Path

    uri, cache, times = args
    out = []
    for _ in range(times):
        folder = fetch_remote_folder(uri, cache_dir=cache)
        out.append((str(folder), folder_version(Path(folder))))
    return out


def test_concurrent_fetches_of_one_remote_model_never_break_each_other(tiny_model_dir, tmp_path):
    uri, cache = f"file://{tiny_model_dir}", tmp_path / "cache"
    with mp.get_context("spawn").Pool(6) as pool:
        results = pool.map(_fetch_many, [(uri, str(cache), 5)] * 6)
    assert sum(len(r) for r in results) == 30
    folders = {f for r in results for f, _ in r}
    versions = {v for r in results for _, v in r}
    assert len(folders) == 1 and versions == {folder_version(tiny_model_dir)} == {folders.pop().rsplit("/", 1)[-1]}


def test_a_worker_refuses_a_model_other_than_the_launchers(tiny_model_dir, tmp_path):
    remote = tmp_path / "remote"
    shutil.copytree(tiny_model_dir, remote)
    uri, cache = f"file://{remote}", tmp_path / "cache"
    launched = fetch_remote_folder(uri, cache_dir=cache).name
    (remote / "tokenizer_config.json").write_text(
        json.dumps({**json.loads((remote / "tokenizer_config.json").read_text()), "model_max_length": 77})
    )
    # Only the tokenizer changed: it is part of the version.
    assert fetch_remote_folder(uri, cache_dir=cache, expected_version=launched).name == launched  # the cached copy
    assert fetch_remote_folder(uri, cache_dir=cache).name != launched
    with pytest.raises(ModelVersionError, match="expected 0123"):
        fetch_remote_folder(uri, cache_dir=cache, expected_version="0123456789abcdef")
    handler = TaggerModelHandler(str(tiny_model_dir), device="cpu", expected_version="0123456789abcdef")
    with pytest.raises(ModelVersionError, match="launched with"):
        handler.load_model()
    tagger = TaggerModelHandler(
        str(tiny_model_dir), device="cpu", expected_version=folder_version(tiny_model_dir)
    ).load_model()
    assert {r.model_version for r in tagger.tag_detailed(["pneumonia"])} == {folder_version(tiny_model_dir)}


def test_table_writer_commits_only_finished_bundles_in_bounded_row_groups(tmp_path):
    from beam_jobs.writer import _WriteBundles
    from job_core.commit import commit
    from job_core.table_files import CHUNK_ROWS
    from schemas import REJECT_SCHEMA, entity_schema

    def bundle(n):
        fn = _WriteBundles(str(tmp_path), "rejects", REJECT_SCHEMA, buffer_bytes=1)  # a row group per chunk
        fn.start_bundle()
        for i in range(n):
            fn.process({"note_id": str(i), "reason": "x", "source_file": "f"})
        return fn

    done = [wv.value for wv in bundle(10_000).finish_bundle()]
    bundle(CHUNK_ROWS + 1)  # a bundle that died: its file was started under _tmp but never output
    assert len(list((tmp_path / "_tmp").iterdir())) == 2
    finals = commit(str(tmp_path), done, {"rejects": REJECT_SCHEMA, "entities": entity_schema()})
    rejects = [f for f in finals if "/rejects-" in f]
    assert len(rejects) == 1 and pq.read_table(rejects[0]).num_rows == 10_000
    assert [pq.ParquetFile(rejects[0]).metadata.row_group(i).num_rows for i in range(3)] == [
        CHUNK_ROWS,
        CHUNK_ROWS,
        10_000 - 2 * CHUNK_ROWS,
    ]
    empty = [f for f in finals if "/entities-" in f]
    assert (
        len(empty) == 1
        and pq.read_table(empty[0]).schema.equals(entity_schema())
        and pq.read_table(empty[0]).num_rows == 0
    )
    assert not (tmp_path / "_tmp").exists()
