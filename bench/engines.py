"""The job's wall time on Prism, in both cluster topologies, against the default runner.

``python -m bench.engines [--notes 20000] [--repeats 2] [--no-write]``

Each run is the CLI in a fresh process (start-up, model load, pipeline submission and the
launcher's commit included), one after the other, on the same synthetic 30-word notes with the
2-layer random model of ``bench.host_path``, float32, context on, codes off:

- the default runner (FnApiRunner, in process);
- ``--runner PrismRunner`` (the SDK starts Prism and LOOPBACK workers);
- a standalone Prism job server and an SDK worker pool (EXTERNAL environment), both started
  before the timed run, as on a cluster.

A one-note run of each gives the fixed cost. On 2 cores the point is overhead, not speed-up.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.host_path import WORDS_PER_NOTE, build_model, synthetic_notes
from bench.report import heading, publish
from bench.throughput import REPO, machine
from tests.beam_jobs.engines import cluster, prism_binary, venv_env


def write_notes(path: Path, texts: list[str]) -> Path:
    pq.write_table(pa.table({"note_id": [f"n{i}" for i in range(len(texts))], "text": texts}), path)
    return path


def timed_job(args: list[str]) -> float:
    env = venv_env()
    env["TOKENIZERS_PARALLELISM"] = "false"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "beam_jobs.tag_notes", *args], check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--notes", type=int, default=20_000)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    prism = prism_binary()
    best: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = build_model(root / "model", 2)
        inputs = {
            f"{args.notes:,} notes": write_notes(root / "many.parquet", synthetic_notes(args.notes)),
            "1 note": write_notes(root / "one.parquet", synthetic_notes(1)),
        }
        with cluster(root / "logs") as engine:
            runners = {
                "default runner (FnApiRunner)": [],
                "PrismRunner (SDK-started, LOOPBACK)": ["--runner", "PrismRunner", "--prism_location", str(prism)],
                "Prism job server + worker pool (EXTERNAL)": engine.pipeline_args,
            }
            for round_ in range(args.repeats):
                for size, notes in inputs.items():
                    for name, extra in runners.items():
                        out = root / f"out-{round_}-{len(best)}"
                        job = [
                            "--input",
                            str(notes),
                            "--output",
                            str(out),
                            "--model",
                            model,
                            "--no-codes",
                            "--dtype",
                            "float32",
                            *extra,
                        ]
                        seconds = timed_job(job)
                        print(f"{size}, {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
                        key = (size, name)
                        best[key] = min(best.get(key, float("inf")), seconds)
    many = f"{args.notes:,} notes"
    base = best[(many, "default runner (FnApiRunner)")]
    lines = [
        heading("the job on Prism, both topologies, against the default runner (bench.engines)"),
        "",
        f"- Machine: {machine()}; GPU: unmeasured in this run.",
        f"- Synthetic {WORDS_PER_NOTE}-word notes, 2-layer random model (hidden 32), float32, context on, codes off; "
        f"each run the CLI in a fresh process, start-up included; best of {args.repeats} rounds, run one after the "
        "other. The job server and the worker pool were started before the timed runs.",
        "",
        "| runner | notes | seconds | against the default runner |",
        "| --- | --- | --- | --- |",
    ]
    for (size, name), seconds in best.items():
        ratio = f"{seconds / base:.2f}x the time" if size == many else "-"
        lines.append(f"| {name} | {size} | {seconds:.1f} | {ratio} |")
    publish("\n".join(lines) + "\n", args.output, not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
