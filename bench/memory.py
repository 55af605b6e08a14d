"""Peak memory of the whole job as the night grows: more notes, one row group or many.

``python -m bench.memory [--notes 3000,12000] [--note-bytes 8192] [--layers 0] [--no-write]``

Each run is the Beam job (FnApiRunner, in process) over synthetic notes of ``--note-bytes``
characters with a random-weight BERT-CRF (hidden size 32, ``--layers`` encoder layers, its head
biased towards entities), in a fresh process, so its peak RSS is its own. The job's memory should
grow by much less than the text added, and be no higher for one row group than for many.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.report import heading, publish
from bench.throughput import REPO, in_fresh_process, machine, peak_rss_mb, synthetic_note


def build_small_model(folder: Path, layers: int) -> Path:
    import torch

    from bench.throughput import build_random_model
    from nercore.tagging.model import BertCrf

    build_random_model(
        folder, {"hidden_size": 32, "num_hidden_layers": layers, "num_attention_heads": 2, "intermediate_size": 64}
    )
    model = BertCrf.load(folder)
    with torch.no_grad():
        model.classifier.bias[1:] += 1.5  # entities as common as in clinical text
    from transformers import AutoTokenizer

    model.save(folder, AutoTokenizer.from_pretrained(folder))
    return folder


def write_notes(path: Path, n: int, note_bytes: int, row_groups: int) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = synthetic_note(note_bytes // 4)[:note_bytes]
    texts = [f"{i} {base}"[:note_bytes] for i in range(n)]
    table = pa.table({"note_id": [f"n{i}" for i in range(n)], "text": texts})
    # Pages of 64 rows (0.5 MB of text) in both layouts, about what Spark writes: pyarrow's
    # default checks the page size only every 1,024 rows, so one large row group would get 8 MB
    # pages and many 500-row groups 4 MB ones, and the reader holds a page at a time.
    pq.write_table(table, path, row_group_size=-(-n // row_groups), write_batch_size=64)
    return sum(len(t) for t in texts)


class EveryFourteenthWord:
    """A stand-in tagger for ``--fake``: one Disease entity per 14 words, no model."""

    name, version, device = "fake", "fake", "cpu"

    def tag_detailed(self, texts):
        import re

        from nercore import Entity
        from nercore.tagging.tagger import TagResult

        out = []
        for text in texts:
            words = [m for i, m in enumerate(re.finditer(r"\S+", text)) if i % 14 == 0]
            out.append(
                TagResult(
                    entities=[
                        Entity(
                            entity_type="Disease", start_char=m.start(), end_char=m.end(), text=m.group(0), score=0.9
                        )
                        for m in words
                    ],
                    windows=1,
                    tokens=len(text) // 5,
                    precision="none",
                    model_version="fake",
                )
            )
        return out


def measure_job(notes: str, model: str, output: str, fake: bool = False) -> dict:
    from beam_jobs.handler import TaggerModelHandler
    from beam_jobs.tag_notes import run

    class FakeHandler(TaggerModelHandler):
        def load_model(self):
            return EveryFourteenthWord()

    started = time.perf_counter()
    summary = run(
        ["--input", notes, "--output", output, "--model", model, "--runner", "FnApiRunner"],
        handler=FakeHandler(None) if fake else None,
    )
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "tagged": summary["notes_tagged"],
        "entities": summary["entities"],
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--notes", default="3000,12000")
    p.add_argument("--note-bytes", type=int, default=8192)
    p.add_argument("--layers", type=int, default=0)
    p.add_argument(
        "--fake",
        action="store_true",
        help="a keyword stand-in for the tagger (one entity per 14 words): the pipeline's own memory, fast",
    )
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    counts = [int(n) for n in args.notes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = str(build_small_model(Path(tmp) / "model", args.layers))
        for n in counts:
            for groups in (max(2, n // 500), 1):
                path = Path(tmp) / f"notes-{n}-{groups}.parquet"
                chars = write_notes(path, n, args.note_bytes, groups)
                r = in_fresh_process(measure_job, str(path), model, str(Path(tmp) / f"out-{n}-{groups}"), args.fake)
                rows.append((n, groups, chars, r))
                print(
                    f"{n} notes, {groups} row groups: {r['peak_rss_mb']:.0f} MB, {r['seconds']:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
    lines = [
        heading(
            f"job peak memory, {args.note_bytes}-character notes, "
            + ("keyword stand-in tagger (--fake)" if args.fake else f"random model (hidden 32, {args.layers} layers)")
        ),
        "",
        f"Machine: {machine()}. Beam job on the FnApiRunner, each run in a fresh process (peak RSS of the process).",
        "",
        "| notes | row groups | text MB | peak RSS MB | seconds | entities |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for n, groups, chars, r in rows:
        lines.append(
            f"| {n:,} | {groups} | {chars / 1e6:.1f} | {r['peak_rss_mb']:.0f} | {r['seconds']:.1f} | "
            f"{r['entities']:,} |"
        )
    many = [(n, chars, r) for n, g, chars, r in rows if g > 1]
    if len(many) >= 2:
        (n0, c0, r0), (n1, c1, r1) = many[0], many[-1]
        growth = (r1["peak_rss_mb"] - r0["peak_rss_mb"]) / ((c1 - c0) / 1e6)
        lines += [
            "",
            f"Peak RSS grew by {r1['peak_rss_mb'] - r0['peak_rss_mb']:.0f} MB for {(c1 - c0) / 1e6:.0f} MB more text "
            f"({n0:,} → {n1:,} notes, many row groups): {growth:.2f} MB per MB of text.",
        ]
    publish("\n".join(lines) + "\n", REPO / "BENCHMARKS.md", write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
