"""Strict devel F1 of the bundled model in fp32 and with dynamic int8 quantisation.

``python -m bench.quantization [--model DIR]``: prints a table and appends it to BENCHMARKS.md.
The int8 path is acceptable when its F1 stays within 0.5 point of fp32 on every devel set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from nercore.data import read_conll
from nercore.evaluate import evaluate_sentences

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
DEVEL = {"BC5CDR devel": (DATA / "bc5cdr" / "devel.tsv", None), "NCBI-disease devel": (DATA / "ncbi_disease" / "devel.tsv", ["Disease"])}


def main(argv=None) -> int:
    from nercore import Tagger

    p = argparse.ArgumentParser(prog="bench-quantization", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    args = p.parse_args(argv)
    if not DATA.is_dir():
        print("../shared/data is absent: nothing to measure", file=sys.stderr)
        return 0
    taggers = {"fp32": Tagger.load(args.model, "cpu"), "int8": Tagger.load(args.model, "cpu", quantize=True)}
    lines = ["| devel set | fp32 F1 | int8 F1 | difference (points) |", "| --- | --- | --- | --- |"]
    worst = 0.0
    for name, (path, types) in DEVEL.items():
        sentences = read_conll(path)
        f1 = {k: evaluate_sentences(t, sentences, types)["overall"]["f1"] for k, t in taggers.items()}
        diff = 100 * (f1["int8"] - f1["fp32"])
        worst = min(worst, diff)
        lines.append(f"| {name} | {f1['fp32']:.4f} | {f1['int8']:.4f} | {diff:+.2f} |")
    verdict = "within" if worst >= -0.5 else "NOT within"
    report = "\n".join([f"## {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, int8 accuracy check, model {args.model or 'bundled default'}", "",
                        f"- Dynamic int8 (torch.ao quantize_dynamic on Linear layers) is {verdict} 0.5 F1 point of fp32.", "", *lines, ""])
    print(report)
    existing = args.output.read_text() if args.output.exists() else "# Benchmarks\n\nWritten by `python -m bench.throughput` and `python -m bench.quantization`; newest last.\n"
    args.output.write_text(existing.rstrip("\n") + "\n\n" + report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
