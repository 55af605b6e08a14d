"""Regenerate the shipped Disease Ontology terms (``nercore/codes/data/doid_icd10cm.tsv``).

``python -m nercore.cli.code_terms --doid doid_terms.tsv [--output TSV]``
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from nercore.codes.terms import DOID_RESOURCE, derive_doid, icd_version


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Regenerate the shipped Disease Ontology terms from a doid_terms.tsv")
    p.add_argument(
        "--doid", required=True, help="doid_terms.tsv (columns doid, name, synonyms, xrefs, skos_mappings, do_version)"
    )
    p.add_argument("--output", default=str(resources.files("nercore.codes").joinpath(DOID_RESOURCE)))
    args = p.parse_args(argv)
    with open(args.doid, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    missing = {"doid", "name", "synonyms", "xrefs", "do_version"} - set(rows[0] if rows else ())
    if missing:
        print(f"error: {args.doid} lacks columns {sorted(missing)}", file=sys.stderr)
        return 2
    lines, dropped = derive_doid(rows, rows[0]["do_version"])
    Path(args.output).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(
        f"wrote {len(lines) - 5} terms to {args.output}; {dropped} cross-references to codes not in {icd_version()} "
        "dropped",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
