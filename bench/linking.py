"""What ICD-10-CM linking costs next to tagging, per note, on CPU; and the index build.

``python -m bench.linking [--notes 100] [--repeats 3] [--no-write]``

One process: the bundled model tags MTSamples notes (codes off), then ``nercore.codes.linker`` ranks
candidates for their Disease entities with the full cached index (built first if missing, and
timed then); both on the same notes and entities. Linking should not become the job's bottleneck.
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
    p.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="linking passes over the entities, each with a fresh linker (the best is kept)",
    )
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)

    import torch

    from nercore import Tagger
    from nercore.codes.index import cached_index, check_index
    from nercore.codes.linker import CodeLinker

    started = time.perf_counter()
    folder = cached_index()
    manifest = check_index(folder)
    load_started = time.perf_counter()
    linker = CodeLinker.load(folder)
    load_seconds = time.perf_counter() - load_started

    texts = load_notes(args.notes)
    tagger = Tagger.load(device="cpu", codes=False)
    tagger.tag(texts[:2])  # warm-up
    started = time.perf_counter()
    entities = tagger.tag(texts)
    tag_seconds = time.perf_counter() - started
    best = float("inf")
    for _ in range(args.repeats):
        linker = CodeLinker.load(folder)  # a cold query cache each time: no answer is reused across passes
        linker.apply(["warm-up"], [[]])
        started = time.perf_counter()
        linker.apply(texts, entities)
        best = min(best, time.perf_counter() - started)
    mentions = [
        t[e.start_char : e.end_char] for t, ents in zip(texts, entities) for e in ents if e.entity_type == "Disease"
    ]
    diseases = sum(e.entity_type == "Disease" for ents in entities for e in ents)
    lines = [
        heading("ICD-10-CM linking vs tagging, CPU"),
        "",
        f"Machine: {machine()}, torch threads {torch.get_num_threads()}, tagger precision {tagger.precision}, linker "
        "float32. "
        f"{len(texts)} MTSamples notes, {diseases:,} Disease entities ({len(set(mentions)):,} distinct texts: the "
        "linker ranks each distinct "
        f"text once, with a cold cache in every pass); one process, tagging once, linking best of {args.repeats}. "
        f"Index: {manifest['terms']:,} terms, {manifest['codes']:,} codes, built in {manifest['build_seconds']} s on "
        f"{manifest['device']} "
        f"(once per machine and version), loaded in {load_seconds:.1f} s.",
        "",
        "| step | seconds | ms per note | notes/s |",
        "| --- | --- | --- | --- |",
        f"| tagging (bundled model, context on, codes off) | {tag_seconds:.2f} | "
        f"{1000 * tag_seconds / len(texts):.1f} | {len(texts) / tag_seconds:,.1f} |",
        f"| linking (all Disease entities, k = 5) | {best:.3f} | {1000 * best / len(texts):.2f} | "
        f"{len(texts) / best:,.0f} |",
        "",
        f"Linking costs {100 * best / tag_seconds:.1f}% of the tagger's time.",
    ]
    publish("\n".join(lines) + "\n", REPO / "BENCHMARKS.md", write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
