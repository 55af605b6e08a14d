"""Evaluate the ICD-10-CM linker on gold mention spans with gold codes.

``python -m nercore.cli.link_eval --documents PUBTATOR --gold TSV [--json] [--index DIR] [--ablate NAME] [--errors N]``
(the scoring itself is ``nercore.evaluation.linking``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence

from nercore.codes.linker import CodeLinker, Ranking
from nercore.corpora.documents import DataError, read_pubtator
from nercore.evaluation.linking import accuracy, link_gold, read_gold, scores


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--documents", required=True, help="PubTator file (title + ' ' + abstract)")
    p.add_argument("--gold", required=True, help="TSV: pmid, start, end, mention, concept_ids, icd10cm_codes")
    p.add_argument("--index", help="code index folder (default: the cached index, built on first use)")
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--ablate",
        action="append",
        default=[],
        choices=[f.name for f in dataclasses.fields(Ranking) if f.type in ("bool", bool)],
        help="turn one ranking rule off (repeatable)",
    )
    p.add_argument(
        "--errors", type=int, default=0, help="print this many wrong top-1 mentions to stderr (gold ids and codes only)"
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        documents = {d.doc_id: d.text for d in read_pubtator(args.documents)}
        gold = read_gold(args.gold)
        linker = CodeLinker.load(args.index, args.device, ranking=Ranking(**{name: False for name in args.ablate}))
        predictions, golds, mentions = link_gold(linker, documents, gold)
    except (DataError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    result = scores(predictions, golds)
    wrong = [(p, g, m) for p, g, m in zip(predictions, golds, mentions) if accuracy([p], [g], 1) == 0.0]
    for predicted, g, m in wrong[: args.errors]:
        print(
            f"{m.doc_id} {m.start}-{m.end} {documents[m.doc_id][m.start : m.end]!r}: gold {'|'.join(g)}, predicted "
            f"{' '.join(predicted)}",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['mentions']} mentions; code acc@1 {result['code']['acc@1']:.3f}, acc@5 "
            f"{result['code']['acc@5']:.3f}; "
            f"category acc@1 {result['category']['acc@1']:.3f}, acc@5 {result['category']['acc@5']:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
