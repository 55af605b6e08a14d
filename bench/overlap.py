"""The tagger's three-stage overlap inside the Beam job (issue 25, item 4), on the CPU.

``python -m bench.overlap [--notes 20000] [--model bundled|two-layer] [--no-write]``

``Tagger.overlap`` tokenises chunk i+1 and finishes chunk i-1 on background threads while chunk i
runs through the encoder. A chunk holds up to 1 MiB of text, and the job's default inference batch
(``--max-batch-chars 400000``) is one chunk, so inside the job the overlap has nothing to overlap.
This runs the job (wall time, start-up and model load included; float32, context on, codes off) on
the same synthetic notes with:

- the default batches (``--overlap auto``: off on a CPU);
- batches of four chunks (``--max-batch-chars 4194304``), overlap off, then on;
- the same two with the direct runner in ``multi_processing`` mode with 2 workers.

Every run is a fresh process, one at a time. On a machine with more cores than 2 (the GPU machine
has 16) the figures would differ: that is the question this answers for the machine it runs on.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.host_path import build_model, measure_job, synthetic_notes, table
from bench.report import heading, publish
from bench.throughput import REPO, in_fresh_process, machine
from nercore.sources import DEFAULT_MODEL_DIR
from nercore.tagging.tagger import DEFAULT_CHUNK_CHARS

LARGE_BATCH = 4 * DEFAULT_CHUNK_CHARS
FN_API = ["--runner", "FnApiRunner"]
MULTI = ["--runner", "DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"]


def variants() -> dict[str, list[str]]:
    """Each measured job's name and its extra arguments."""
    large = ["--max-batch-chars", str(LARGE_BATCH)]
    return {
        "FnApiRunner, default batches (400,000 chars), overlap auto (off)": FN_API,
        "FnApiRunner, 4 MiB batches, overlap off": [*FN_API, *large, "--overlap", "off"],
        "FnApiRunner, 4 MiB batches, overlap on": [*FN_API, *large, "--overlap", "on"],
        "multi_processing x2, 4 MiB batches, overlap off": [*MULTI, *large, "--overlap", "off"],
        "multi_processing x2, 4 MiB batches, overlap on": [*MULTI, *large, "--overlap", "on"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench-overlap", description=__doc__.splitlines()[0])
    p.add_argument("--notes", type=int, default=20_000, help="synthetic 30-word notes per job")
    p.add_argument("--model", choices=("bundled", "two-layer"), default="bundled")
    p.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    texts = synthetic_notes(args.notes)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = str(DEFAULT_MODEL_DIR) if args.model == "bundled" else build_model(Path(tmp) / "two-layer", 2)
        for name, extra in variants().items():
            r = in_fresh_process(measure_job, model, texts, extra)
            print(f"{name}: {r['words_s']:,.0f} words/s", file=sys.stderr, flush=True)
            rows.append((name, len(texts), r))
    first = rows[0][2]["words_s"]
    notes = [
        f"Machine: {machine()}; the {args.model} model, float32, context on, codes off; one run each; "
        "GPU: unmeasured in this run.",
        *[f"{name}: {r['words_s'] / first:.2f}x the default." for name, _, r in rows[1:]],
    ]
    title = heading("the tagger's overlap inside the job (bench.overlap)")
    publish("\n".join([title, "", *[f"- {n}" for n in notes], "", table(rows), ""]), args.output, not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
