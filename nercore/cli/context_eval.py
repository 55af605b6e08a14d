"""Score the context rules on a ConText-format TSV.

``python -m nercore.cli.context_eval --data FILE [--triggers TSV] [--sections TSV] [--json] [--errors]``
(the scoring itself is ``nercore.evaluation.context``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from nercore.context.engine import Context, ContextFinder
from nercore.context.rules import DEFAULT_SECTIONS, DEFAULT_TRIGGERS, ContextRules
from nercore.evaluation.context import evaluate, format_report, read_rows


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m nercore.evaluation.context", description=__doc__.splitlines()[0])
    p.add_argument(
        "--data", required=True, type=Path, help="ConText-format TSV (e.g. ../shared/data/context/context_dev.tsv)"
    )
    p.add_argument(
        "--triggers",
        type=Path,
        default=DEFAULT_TRIGGERS,
        help="trigger rules (default: the shipped nercore/rules/context.tsv)",
    )
    p.add_argument(
        "--sections",
        type=Path,
        default=DEFAULT_SECTIONS,
        help="section rules (default: the shipped nercore/rules/sections.tsv)",
    )
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.add_argument(
        "--errors",
        action="store_true",
        help="also list the rows predicted wrongly (prints the dev sentences: development data only)",
    )
    args = p.parse_args(argv)
    try:
        rows = read_rows(args.data)
        finder = ContextFinder(ContextRules.load(args.triggers, args.sections))
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    report, predictions = evaluate(rows, finder)
    if args.json:
        print(json.dumps(report))
    else:
        print(format_report(report))
    if args.errors:
        for row, pred in zip(rows, predictions):
            pred = pred or Context()
            got = ("negated" if pred.negation == "negated" else "affirmed", pred.temporality, pred.experiencer)
            if got != (row.negation, row.temporality, row.experiencer):
                print(
                    f"{row.row_id}\tgold {row.negation}/{row.temporality}/{row.experiencer}\tgot "
                    f"{'/'.join(got)}\t{row.concept}\t{row.sentence}",
                    file=sys.stderr,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
