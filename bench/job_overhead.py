"""The job's own cost per note, with a stand-in tagger, against another checkout's job.

``python -m bench.job_overhead [--notes 100000] [--baseline DIR] [--repeats 2] [--no-write]``

The tagger is ``bench.memory.EveryFourteenthWord`` (a regular expression, one entity per 14 words,
no model), so what is timed is the job around the tagger: reading, checks, the duplicate rule,
batching, entity rows, writing and start-up. Synthetic 30-word notes (``bench.host_path``) with a
string passthrough column, FnApiRunner, codes off. Each run is a fresh process; with
``--baseline`` (e.g. ``git worktree add DIR COMMIT``) the two trees' jobs alternate round by
round, and the best of each is reported.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.report import heading, publish
from bench.throughput import REPO, in_tree, machine


def measure(n: int, model: str) -> dict:
    """The job over ``n`` synthetic notes with the stand-in tagger; wall seconds, start-up included."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from beam_jobs.handler import TaggerModelHandler
    from beam_jobs.tag_notes import run
    from bench.host_path import synthetic_notes
    from bench.memory import EveryFourteenthWord

    class StandIn(TaggerModelHandler):
        def load_model(self):
            return EveryFourteenthWord()

    texts = synthetic_notes(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "notes.parquet"
        pq.write_table(
            pa.table(
                {"note_id": [f"n{i}" for i in range(n)], "text": texts, "patient_id": [f"P{i % 97}" for i in range(n)]}
            ),
            path,
        )
        args = [
            "--input",
            str(path),
            "--output",
            str(Path(tmp) / "out"),
            "--model",
            model,
            "--no-codes",
            "--passthrough",
            "patient_id",
            "--runner",
            "FnApiRunner",
        ]
        started = time.perf_counter()
        summary = run(args, handler=StandIn(None))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "notes": summary["notes_tagged"], "entities": summary["entities"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bench-job-overhead", description=__doc__.splitlines()[0])
    p.add_argument("--notes", type=int, default=100_000)
    p.add_argument("--baseline", type=Path, help="another checkout whose job runs beside this one's")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    from bench.host_path import build_model

    trees = {"this tree": REPO}
    if args.baseline:
        trees[f"{args.baseline.name} (baseline)"] = args.baseline.resolve()
    best: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        model = build_model(Path(tmp) / "no-layer", 0)  # loaded but unused: the stand-in tags
        for _ in range(args.repeats):
            for name, tree in trees.items():
                r = in_tree(tree, "bench.job_overhead", "measure", args.notes, model)
                print(f"{name}: {r['seconds']:.2f} s", file=sys.stderr, flush=True)
                if name not in best or r["seconds"] < best[name]["seconds"]:
                    best[name] = r
    lines = ["| job | notes | seconds | notes/s | µs per note | entities |", "| --- | --- | --- | --- | --- | --- |"]
    for name, r in best.items():
        lines.append(
            f"| {name} | {r['notes']:,} | {r['seconds']:.2f} | {r['notes'] / r['seconds']:,.0f} | "
            f"{1e6 * r['seconds'] / r['notes']:.0f} | {r['entities']:,} |"
        )
    notes = [
        f"Machine: {machine()}; stand-in tagger (one entity per 14 words), FnApiRunner, codes off, one string "
        "passthrough column; "
        f"{args.repeats} alternating rounds, best of each."
    ]
    if args.baseline:
        this, base = best["this tree"], best[f"{args.baseline.name} (baseline)"]
        notes.append(f"this job / baseline job: {base['seconds'] / this['seconds']:.2f}x the speed.")
    report = "\n".join(
        [heading("the job's own cost (bench.job_overhead)"), "", *[f"- {n}" for n in notes], "", *lines, ""]
    )
    publish(report, args.output, not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
