"""Strict devel F1 of a model at each CPU precision: float32, bfloat16 and dynamic int8.

``python -m bench.precision [--model DIR]``: prints a table and appends it to BENCHMARKS.md.
A faster precision is acceptable when its F1 stays within 0.5 point of float32 on every devel
set. Use a model whose devel sets were held out of training, or the check means little.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from bench.report import heading, publish
from nercore.corpora.documents import read_conll
from nercore.evaluation.tagger import evaluate_sentences

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
DEVEL = {
    "BC5CDR devel": (DATA / "bc5cdr" / "devel.tsv", None),
    "NCBI-disease devel": (DATA / "ncbi_disease" / "devel.tsv", ["Disease"]),
}
VARIANTS = {
    "float32": {"dtype": torch.float32},
    "bfloat16": {"dtype": torch.bfloat16},
    "int8 dynamic": {"quantize": True},
}


def main(argv=None) -> int:
    from nercore import Tagger
    from nercore.tagging.device import native_bf16

    p = argparse.ArgumentParser(prog="bench-precision", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    args = p.parse_args(argv)
    if not DATA.is_dir():
        print("../shared/data is absent: nothing to measure", file=sys.stderr)
        return 0
    names = [n for n in VARIANTS if n != "bfloat16" or native_bf16(torch.device("cpu"))]
    sets = {name: read_conll(path) for name, (path, _) in DEVEL.items()}
    f1 = {}
    for variant in names:
        tagger = Tagger.load(args.model, "cpu", **VARIANTS[variant])
        for name, (_, types) in DEVEL.items():
            f1[variant, name] = evaluate_sentences(tagger, sets[name], types).overall.f1
    lines = ["| devel set | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for name in DEVEL:
        cells = [
            f"{f1[v, name]:.4f}" + ("" if v == "float32" else f" ({100 * (f1[v, name] - f1['float32', name]):+.2f})")
            for v in names
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    verdicts = []
    for v in names[1:]:
        worst = min(100 * (f1[v, n] - f1["float32", n]) for n in DEVEL)
        verdicts.append(
            f"- {v}: {'within' if worst >= -0.5 else 'NOT within'} 0.5 F1 point of float32 (worst {worst:+.2f})."
        )
    if "bfloat16" not in names:
        verdicts.append("- bfloat16: skipped, this CPU has no native bfloat16.")
    report = "\n".join(
        [
            heading(f"precision vs accuracy (CPU), model {args.model or 'bundled default'}"),
            "",
            *verdicts,
            "",
            "Strict F1, difference to float32 in points:",
            "",
            *lines,
            "",
        ]
    )
    publish(report, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
