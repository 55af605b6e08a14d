"""The Spark job (``spark_jobs``) at ``local[2]`` and on a 2-worker standalone cluster, against the
Beam job's default runner and ``Tagger.tag`` on the same notes.

``python -m bench.spark [--notes 20000] [--repeats 2] [--no-write]``

Each job run is the CLI in a fresh process (start-up, model load and the driver's commit
included), one after the other, on the synthetic 30-word notes of ``bench.host_path`` with its
2-layer random model, float32, context on, codes off. The cluster (``scripts/spark_cluster.sh``,
two one-core workers) is started before the timed runs, as a cluster would be. A one-note run of
each gives the fixed cost. ``Tagger.tag`` runs in this process on the same texts (2 threads, its
load not counted). On 2 cores the point is overhead, not speed-up.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.engines import write_notes
from bench.host_path import WORDS_PER_NOTE, build_model, measure_tag, synthetic_notes
from bench.report import heading, publish
from bench.throughput import REPO, machine
from tests.spark_jobs.cluster import spark_cluster, spark_env


def timed(module: str, args: list[str], tmp: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", module, *args], check=True, capture_output=True, env=spark_env(tmp))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--notes", type=int, default=20_000)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    best: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = build_model(root / "model", 2)
        texts = synthetic_notes(args.notes)
        many = f"{args.notes:,} notes"
        inputs = {
            many: write_notes(root / "many.parquet", texts),
            "1 note": write_notes(root / "one.parquet", texts[:1]),
        }
        tag = measure_tag(model, texts, context=True)
        with spark_cluster(root / "cluster", workers=2) as cluster:
            engines = {
                "Beam, default runner (FnApiRunner)": ("beam_jobs.tag_notes", []),
                "Spark local[2]": ("spark_jobs.tag_notes", ["--master", "local[2]"]),
                "Spark standalone, 2 one-core workers": ("spark_jobs.tag_notes", ["--master", cluster.url]),
            }
            for round_ in range(args.repeats):
                for size, notes in inputs.items():
                    for name, (module, extra) in engines.items():
                        out = root / f"out-{round_}-{len(best)}-{os.getpid()}"
                        job = ["--input", str(notes), "--output", str(out), "--model", model, "--no-codes"]
                        seconds = timed(module, [*job, "--dtype", "float32", *extra], root / "tmp")
                        print(f"{size}, {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
                        best[(size, name)] = min(best.get((size, name), float("inf")), seconds)
    base = best[(many, "Beam, default runner (FnApiRunner)")]
    lines = [
        heading("the Spark job at local[2] and on a 2-worker cluster, against the Beam job (bench.spark)"),
        "",
        f"- Machine: {machine()}; GPU: unmeasured in this run.",
        f"- Synthetic {WORDS_PER_NOTE}-word notes, 2-layer random model (hidden 32), float32, context on, codes off; "
        f"each run the CLI in a fresh process, start-up included; best of {args.repeats} rounds, run one after the "
        "other. The standalone cluster was started before the timed runs.",
        f"- `Tagger.tag` alone on the same {many}: {tag['seconds']:.1f} s ({tag['words_s']:,.0f} words/s, 2 threads, "
        "load excluded).",
        "",
        "| engine | notes | seconds | against Beam's default runner | job's rate against `Tagger.tag` "
        "| fixed cost (1 note) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for (size, name), seconds in best.items():
        if size != many:
            continue
        lines.append(
            f"| {name} | {size} | {seconds:.1f} | {seconds / base:.2f}x the time | {tag['seconds'] / seconds:.2f} | "
            f"{best[('1 note', name)]:.1f} s |"
        )
    publish("\n".join(lines) + "\n", args.output, not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
