"""The night in an Iceberg warehouse (embedded SQLite catalog in a temporary folder, fake tagger):
two nights, a crash between two commits and its rerun, a rerun of a published night, two writers at once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.expressions import EqualTo

from beam_jobs.tag_notes import run
from job_core.warehouse import commit as warehouse_commit
from job_core.warehouse.catalog import open_catalog
from job_core.warehouse.commit import RUN_PROPERTY, WarehouseConflict
from tests.fakes import FakeHandler

RUNNER = ["--runner", "FnApiRunner"]
WORDS = ["pneumonia", "amoxicillin", "sepsis", "stable", "fever"]


def night_rows(n: int, amended: set[int] = frozenset(), start: int = 0) -> list[dict]:
    rows = []
    for i in range(start, start + n):
        words = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(3 + i % 4))
        text = f"Note {i}: {words}." + (" Addendum: sepsis ruled out, pneumonia again." if i in amended else "")
        rows.append({"note_id": f"n{i:05d}", "text": text})
    return rows


def write(path, rows):
    pq.write_table(
        pa.Table.from_pylist(rows, schema=pa.schema([("note_id", pa.string()), ("text", pa.string())])), path
    )
    return path


def tonight(tmp_path, name, rows, warehouse, *extra):
    notes = write(tmp_path / f"{name}.parquet", rows)
    args = ["--input", str(notes), "--warehouse", str(warehouse), "--no-codes", *RUNNER, *extra]
    return run(args, handler=FakeHandler())


def scan(warehouse, table, **kwargs) -> pa.Table:
    return open_catalog(str(warehouse)).load_table(f"clinical_ner.{table}").scan(**kwargs).to_arrow()


def snapshot_of(warehouse, table, run_id) -> int:
    """The last snapshot a run made in a table: what a reader time-travels to for that night."""
    snapshots = open_catalog(str(warehouse)).load_table(f"clinical_ner.{table}").snapshots()
    return [s.snapshot_id for s in snapshots if s.summary.additional_properties.get(RUN_PROPERTY) == run_id][-1]


def published_entities(summary) -> list[dict]:
    folder = summary["output"]
    rows = [r for p in sorted(Path(folder).glob("entities-*.parquet")) for r in pq.read_table(p).to_pylist()]
    return sorted(rows, key=lambda r: r["entity_id"])


def test_two_nights_keep_one_current_set_of_rows_per_note_and_night_one_by_time_travel(tmp_path):
    warehouse = tmp_path / "wh"
    first = tonight(tmp_path, "night1", night_rows(1000), warehouse, "--run-date", "2026-12-01")
    night1_entities = published_entities(first)
    amended = set(range(0, 50))
    rows = night_rows(1000, amended)[20:] + night_rows(100, start=1000)  # 50 amended, 100 new, 20 gone
    second = tonight(tmp_path, "night2", rows, warehouse, "--run-date", "2026-12-02")
    assert second["warehouse"]["entities"] and second["warehouse"]["runs"]

    entities = scan(warehouse, "entities")
    ids = entities.column("entity_id").to_pylist()
    assert len(ids) == len(set(ids))  # one copy of each entity
    by_note: dict[str, set[str]] = {}
    for row in entities.select(["note_id", "run_id"]).to_pylist():
        by_note.setdefault(row["note_id"], set()).add(row["run_id"])
    assert all(len(runs) == 1 for runs in by_note.values())  # one current set of rows per note
    assert {by_note[f"n{i:05d}"].pop() for i in range(0, 20)} == {first["run_id"]}  # gone notes keep their rows
    assert {by_note[f"n{i:05d}"].pop() for i in range(20, 1100)} == {second["run_id"]}
    old = {r["entity_id"] for r in night1_entities if int(r["note_id"][1:]) in range(20, 50)}
    assert old and not old & set(ids) - {r["entity_id"] for r in published_entities(second)}  # old rows replaced

    # Time travel to night 1 returns night 1's rows exactly.
    back = scan(warehouse, "entities", snapshot_id=snapshot_of(warehouse, "entities", first["run_id"]))
    assert (
        sorted(back.drop_columns(["run_id", "run_date"]).to_pylist(), key=lambda r: r["entity_id"]) == night1_entities
    )
    ledger = scan(warehouse, "runs").to_pylist()
    assert sorted(r["run_id"] for r in ledger) == sorted([first["run_id"], second["run_id"]])

    # A pyiceberg scan and DuckDB over it agree with summary.json.
    summary = json.loads((tmp_path / "wh" / "output" / "summary.json").read_text())
    night2 = scan(warehouse, "entities", row_filter=EqualTo("run_id", second["run_id"]))
    counted = duckdb.sql("select entity_type, count(*) from night2 group by 1 order by 1").fetchall()
    assert dict(counted) == summary["entities_by_type"] and night2.num_rows == summary["entities"]
    rejects = scan(warehouse, "rejects", row_filter=EqualTo("run_id", second["run_id"]))
    assert rejects.num_rows == summary["notes_rejected"]


def test_a_crash_before_the_ledger_row_is_completed_by_a_rerun_and_a_rerun_changes_nothing(tmp_path, monkeypatch):
    warehouse = tmp_path / "wh"
    tonight(tmp_path, "night1", night_rows(200), warehouse, "--run-date", "2026-12-01")
    real = warehouse_commit.append_ledger

    def crash(table, night):
        raise OSError("launcher killed between the tables and the ledger")

    monkeypatch.setattr(warehouse_commit, "append_ledger", crash)
    rows = night_rows(200, amended=set(range(10)))
    with pytest.raises(OSError, match="killed"):
        tonight(tmp_path, "night2", rows, warehouse, "--run-date", "2026-12-02", "--run-id", "night-2")
    assert scan(warehouse, "runs").num_rows == 1  # the ledger still says night 1
    monkeypatch.setattr(warehouse_commit, "append_ledger", real)
    snapshots = len(open_catalog(str(warehouse)).load_table("clinical_ner.entities").snapshots())
    again = tonight(tmp_path, "night2", rows, warehouse, "--run-date", "2026-12-02", "--run-id", "night-2")
    assert again["warehouse"]["entities"] is False and again["warehouse"]["runs"] is True  # skipped, then completed
    assert len(open_catalog(str(warehouse)).load_table("clinical_ner.entities").snapshots()) == snapshots
    ids = scan(warehouse, "entities").column("entity_id").to_pylist()
    assert len(ids) == len(set(ids)) == again["entities"]
    assert sorted(scan(warehouse, "runs").column("run_id").to_pylist())[-1] == "night-2"
    # A rerun of a published night changes no table.
    before = {
        t: len(open_catalog(str(warehouse)).load_table(f"clinical_ner.{t}").snapshots()) for t in ("entities", "runs")
    }
    third = tonight(tmp_path, "night2", rows, warehouse, "--run-date", "2026-12-02", "--run-id", "night-2")
    assert not any(third["warehouse"][t] for t in ("entities", "codes", "rejects", "runs"))
    after = {
        t: len(open_catalog(str(warehouse)).load_table(f"clinical_ner.{t}").snapshots()) for t in ("entities", "runs")
    }
    assert after == before and scan(warehouse, "runs").num_rows == 2


def test_two_writers_at_once_lose_and_duplicate_nothing(tmp_path):
    warehouse = tmp_path / "wh"
    tonight(tmp_path, "seed", night_rows(50), warehouse, "--run-date", "2026-12-01")  # the tables exist
    outcomes: dict[str, object] = {}

    def writer(name, start):
        try:
            rows = night_rows(300, start=start)  # each job its own folder output; the warehouse is shared
            outcomes[name] = tonight(
                tmp_path, name, rows, warehouse, "--run-id", name, "--output", str(tmp_path / name)
            )
        except WarehouseConflict as err:
            outcomes[name] = err

    threads = [threading.Thread(target=writer, args=(f"job-{k}", 1000 * (k + 1))) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, outcome in outcomes.items():
        if isinstance(outcome, WarehouseConflict):  # failed cleanly: its rerun completes it
            assert "rerun the night with --run-id" in str(outcome) and "\n" not in str(outcome)
            start = 1000 * (int(name[-1]) + 1)
            tonight(
                tmp_path,
                name,
                night_rows(300, start=start),
                warehouse,
                "--run-id",
                name,
                "--output",
                str(tmp_path / name),
            )
    entities = scan(warehouse, "entities")
    ids = entities.column("entity_id").to_pylist()
    assert len(ids) == len(set(ids))
    assert {n for n in entities.column("note_id").to_pylist()} >= {f"n{i:05d}" for i in range(1000, 1300)}
    assert sorted(scan(warehouse, "runs").column("run_id").to_pylist())[-2:] == ["job-0", "job-1"]


def test_incremental_nights_tag_only_what_changed_and_a_quiet_night_tags_nothing(tmp_path):
    warehouse = tmp_path / "wh"
    first = tonight(tmp_path, "night1", night_rows(1000), warehouse, "--incremental", "--run-date", "2026-12-01")
    assert first["notes_tagged"] == 1000 and first["notes_unchanged"] == 0
    amended = set(range(20, 70))
    rows = night_rows(1000, amended)[20:] + night_rows(100, start=1000)  # 50 amended, 100 new, 20 gone
    second = tonight(tmp_path, "night2", rows, warehouse, "--incremental", "--run-date", "2026-12-02")
    assert second["notes_tagged"] == 150 and second["notes_unchanged"] == 930 and second["notes_rejected"] == 0
    assert second["notes_read"] == second["notes_tagged"] + second["notes_rejected"] + second["notes_unchanged"]
    entities = scan(warehouse, "entities")
    ids = entities.column("entity_id").to_pylist()
    assert len(ids) == len(set(ids))
    runs = {}
    for row in entities.select(["note_id", "run_id"]).to_pylist():
        runs.setdefault(row["note_id"], set()).add(row["run_id"])
    assert all(len(r) == 1 for r in runs.values())
    changed = {f"n{i:05d}" for i in [*amended, *range(1000, 1100)]}
    assert {n for n, r in runs.items() if r == {second["run_id"]}} == changed  # only what changed was replaced
    state = scan(warehouse, "notes")
    assert state.num_rows == len(set(state.column("note_id").to_pylist())) == 1100

    third = tonight(tmp_path, "night3", rows, warehouse, "--incremental", "--run-date", "2026-12-03")
    assert third["notes_tagged"] == 0 and third["notes_unchanged"] == 1080
    ledger = {r["run_id"]: r for r in scan(warehouse, "runs").to_pylist()}
    assert ledger[third["run_id"]]["notes_tagged"] == 0 and ledger[third["run_id"]]["notes_unchanged"] == 1080
    assert scan(warehouse, "entities").num_rows == entities.num_rows


def test_the_readmes_reading_example_runs_as_written(tmp_path):
    warehouse = tmp_path / "wh"
    tonight(tmp_path, "night1", night_rows(100), warehouse, "--run-date", "2026-12-01")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("**Reading the tables**:\n```python\n", 1)[1].split("```", 1)[0]
    code = block.replace("/ABSOLUTE/PATH/wh", str(warehouse))
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Disease" in result.stdout  # DuckDB's table of entities by type


def test_expire_deletes_only_what_no_live_snapshot_needs_and_a_dry_run_nothing(tmp_path, monkeypatch):
    warehouse = tmp_path / "wh"
    tonight(tmp_path, "night1", night_rows(100), warehouse, "--run-date", "2026-12-01")
    monkeypatch.setattr(warehouse_commit, "commit_table", lambda *a: (_ for _ in ()).throw(OSError("died")))
    with pytest.raises(OSError):  # a failed run: its landing files were never registered
        tonight(tmp_path, "failed", night_rows(100, amended={1}), warehouse, "--run-id", "failed")
    monkeypatch.undo()
    tonight(tmp_path, "night2", night_rows(100, amended=set(range(10))), warehouse, "--run-date", "2026-12-02")
    current = {t: sorted(scan(warehouse, t).to_pylist(), key=str) for t in ("entities", "notes", "rejects")}
    orphan = sorted((warehouse / "landing" / "failed").glob("*.parquet"))
    assert orphan

    def cli(*args):
        out = subprocess.run(
            [sys.executable, "-m", "job_core.warehouse", "expire", "--warehouse", str(warehouse), *args],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout

    everything = sorted(p for p in warehouse.rglob("*.parquet"))
    listed = cli("--older-than", "0m", "--dry-run")
    assert sorted(p for p in warehouse.rglob("*.parquet")) == everything  # a dry run deletes nothing
    would = {line.split(" ", 2)[2] for line in listed.splitlines() if line.startswith("would delete ")}
    assert {str(p) for p in orphan} <= would
    cli("--older-than", "0m")
    remaining = {str(p) for p in warehouse.rglob("*.parquet")}
    assert not would & remaining and not any(str(p) in remaining for p in orphan)
    assert {t: sorted(scan(warehouse, t).to_pylist(), key=str) for t in current} == current  # live rows intact
    assert len(open_catalog(str(warehouse)).load_table("clinical_ner.entities").snapshots()) == 1


def test_codes_and_note_codes_reach_the_warehouse_with_their_notes(tmp_path):
    notes = write(
        tmp_path / "n.parquet", [{"note_id": f"c{i}", "text": f"Sepsis and pneumonia {i}."} for i in range(5)]
    )
    summary = run(
        ["--input", str(notes), "--warehouse", str(tmp_path / "wh"), *RUNNER],
        handler=FakeHandler(codes=True, codes_k=2),
    )
    entities = {r["entity_id"]: r["note_id"] for r in scan(tmp_path / "wh", "entities").to_pylist()}
    codes = scan(tmp_path / "wh", "codes").to_pylist()
    assert len(codes) == 2 * summary["entities_with_code"] > 0
    assert all(entities[r["entity_id"]] == r["note_id"] for r in codes)  # each code row carries its entity's note
    note_codes = scan(tmp_path / "wh", "note_codes")
    assert note_codes.num_rows == 10 and set(note_codes.column("note_id").to_pylist()) == set(entities.values())
