"""The warehouse's costs: a night's commit of 1M entity rows, and an incremental plan over 1M known notes.

``python -m bench.warehouse [--notes 100000] [--entities-per-note 10] [--known 1000000] [--no-write]``

Each measurement runs in a fresh process (its peak RSS is its own), on the embedded SQLite
catalog in a temporary folder, with synthetic rows of the job's schemas:

- commit, first night: landing files written from the run's Parquet files, then one transaction
  per table into empty tables, then the ledger row (``job_core.warehouse.publish``'s steps);
- commit, a re-tagged night: the same night again under a new run id, so every one of its notes'
  rows is deleted and replaced (a night without ``--incremental``);
- plan: ``plan_known`` over a ``notes`` table of ``--known`` notes (three columns read, keys built).
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.report import heading, publish
from bench.throughput import REPO, machine
from job_core.config import JobConfig
from job_core.inputs import InputPlan
from job_core.launch import table_schemas
from job_core.warehouse.plan import plan_known
from job_core.warehouse.publish import publish_to_warehouse


def fake_night(folder: Path, notes: int, per_note: int) -> None:
    """A published night's files: entities (``per_note`` a note), notes state, no codes or rejects."""

    schemas = table_schemas(InputPlan((), (), (), 0))
    folder.mkdir(parents=True)
    step = 100_000
    for start in range(0, notes * per_note, step):
        idx = range(start, min(start + step, notes * per_note))
        n = len(idx)
        columns = {
            "note_id": [f"n{i // per_note:08d}" for i in idx],
            "entity_id": [f"{i:032x}" for i in idx],
            "entity_type": ["Disease" if i % 2 else "Chemical" for i in idx],
            "start_char": [i % 1000 for i in idx],
            "end_char": [i % 1000 + 9 for i in idx],
            "text": ["pneumonia"] * n,
            "score": [0.9] * n,
            "negation": ["affirmed"] * n,
            "temporality": ["recent"] * n,
            "experiencer": ["patient"] * n,
            "section": [None] * n,
            "icd10cm_code": [None] * n,
            "icd10cm_score": [None] * n,
            "model_name": ["m"] * n,
            "model_version": ["v1"] * n,
            "pipeline_version": ["0.1.0"] * n,
        }
        pq.write_table(pa.table(columns, schema=schemas["entities"]), folder / f"entities-{start:09d}.parquet")
    state = {"note_id": [f"n{i:08d}" for i in range(notes)], "content_hash": [f"{i:032x}" for i in range(notes)]}
    state["model_version"] = ["v1"] * notes
    pq.write_table(pa.table(state, schema=schemas["notes"]), folder / "notes-000.parquet")


def commit(folder: str, warehouse: str, run_id: str) -> dict:

    config = JobConfig(inputs=("x",), output=folder, warehouse=warehouse, run_date="2026-12-01")
    summary = {"model_name": "m", "model_version": "v1", "pipeline_version": "0.1.0", "notes_read": 0}
    summary.update(notes_tagged=0, notes_rejected=0, entities=0, seconds=0.0)
    started = time.perf_counter()
    publish_to_warehouse(
        config,
        run_id=run_id,
        tables=folder,
        input_files=[],
        summary=summary,
        schemas=table_schemas(InputPlan((), (), (), 0)),
    )
    return {"seconds": time.perf_counter() - started}


def plan(warehouse: str) -> dict:

    started = time.perf_counter()
    known, info = plan_known(warehouse, "clinical_ner", "v1", None)
    return {"seconds": time.perf_counter() - started, "known": len(known)}


def child(argv: list[str]) -> int:
    what, *args = argv
    out = commit(*args) if what == "commit" else plan(*args)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
    return 0


def measure(*args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "bench.warehouse", "--child", *args], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        return child(argv[1:])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--notes", type=int, default=100_000)
    p.add_argument("--entities-per-note", type=int, default=10)
    p.add_argument("--known", type=int, default=1_000_000)
    p.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fake_night(root / "night", args.notes, args.entities_per_note)
        first = measure("commit", str(root / "night"), str(root / "wh"), "night-1")
        again = measure("commit", str(root / "night"), str(root / "wh"), "night-2")
        fake_night(root / "known", args.known, 1)
        measure("commit", str(root / "known"), str(root / "wh2"), "known")
        planned = measure("plan", str(root / "wh2"))
    rows = args.notes * args.entities_per_note
    lines = [
        heading("the warehouse commit and the incremental plan (bench.warehouse)"),
        "",
        f"- Machine: {machine()}; embedded SQLite catalog on local disk; pyiceberg 0.12; {datetime.date.today()}.",
        f"- A night of {rows:,} entity rows ({args.notes:,} notes, {args.entities_per_note} entities each) and its "
        "notes state; each measurement a fresh process (peak RSS its own, Python and imports included).",
        "",
        "| step | seconds | peak RSS (MB) |",
        "| --- | --- | --- |",
        f"| commit, first night ({rows:,} rows into empty tables: landing files + add_files + ledger) "
        f"| {first['seconds']:.1f} | {first['peak_rss_mb']:.0f} |",
        f"| commit, the same night re-tagged ({args.notes:,} notes' rows deleted and replaced) "
        f"| {again['seconds']:.1f} | {again['peak_rss_mb']:.0f} |",
        f"| incremental plan over {planned['known']:,} known notes | {planned['seconds']:.1f} "
        f"| {planned['peak_rss_mb']:.0f} |",
    ]
    publish("\n".join(lines) + "\n", args.output, not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
