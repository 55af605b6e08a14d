"""What clinical context costs next to tagging, per note, on CPU.

``python -m bench.context [--notes 100] [--repeats 5] [--no-write]``

One process: the bundled model tags MTSamples notes (context off), then ``nercore.context.engine``
computes context for those entities; both timed on the same notes and entities. The context
rules should cost well under 10% of the tagger's time.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.report import heading, publish
from bench.throughput import REPO, load_notes, machine


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--notes", type=int, default=100)
    p.add_argument("--repeats", type=int, default=5, help="context passes over the notes (the best is kept)")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)

    import torch

    from nercore import Tagger
    from nercore.context.engine import ContextFinder

    texts = load_notes(args.notes)
    tagger = Tagger.load(device="cpu", context=False)
    tagger.tag(texts[:2])  # warm-up
    started = time.perf_counter()
    entities = tagger.tag(texts)
    tag_seconds = time.perf_counter() - started

    finder = ContextFinder()
    best = float("inf")
    for _ in range(args.repeats):
        started = time.perf_counter()
        for text, found in zip(texts, entities):
            finder.apply(text, found)
        best = min(best, time.perf_counter() - started)
    words = sum(len(t.split()) for t in texts)
    n_entities = sum(len(e) for e in entities)
    lines = [
        heading("clinical context vs tagging, CPU"),
        "",
        f"Machine: {machine()}, torch threads {torch.get_num_threads()}, precision {tagger.precision}. {len(texts)} "
        "MTSamples notes, "
        f"{words:,} words, {n_entities:,} entities; one process, tagging once, context best of {args.repeats}.",
        "",
        "| step | seconds | ms per note | notes/s |",
        "| --- | --- | --- | --- |",
        f"| tagging (bundled model, context off) | {tag_seconds:.2f} | {1000 * tag_seconds / len(texts):.1f} | "
        f"{len(texts) / tag_seconds:,.1f} |",
        f"| context (nercore.context.engine, shipped rules) | {best:.3f} | {1000 * best / len(texts):.2f} | "
        f"{len(texts) / best:,.0f} |",
        "",
        f"Context costs {100 * best / tag_seconds:.2f}% of the tagger's time.",
    ]
    publish("\n".join(lines) + "\n", REPO / "BENCHMARKS.md", write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
