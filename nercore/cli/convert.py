"""Convert labelled documents between annotation formats.

``python -m nercore.cli.convert --from labelstudio --to brat INPUT OUTPUT [--types A,B] [--strict]``

Reads through the same path as training and evaluation (``nercore.corpora.formats``,
``nercore.corpora.annotations``) and prints what it counted on stderr. Spans are written as read:
discontinuous spans keep their first fragment (``--discontinuous skip`` drops them), overlaps are
kept except in CoNLL, where BIO keeps the longest. CoNLL output tokenises each document into
words and single punctuation marks, one block per document, so its text is not the original.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nercore.corpora.annotations import SpanPolicy, resolve
from nercore.corpora.documents import DataError
from nercore.corpora.formats import FORMATS, ReadOptions, read_annotated, write_documents


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nercore-convert", description=__doc__.splitlines()[0])
    p.add_argument("input", help="labelled file, or BRAT folder")
    p.add_argument("output", help="file to write, or folder for --to brat")
    p.add_argument(
        "--from", dest="source", choices=(*FORMATS, "auto"), default="auto", help="input format (default: detected)"
    )
    p.add_argument("--to", dest="target", choices=FORMATS, required=True, help="output format")
    p.add_argument(
        "--types",
        type=lambda v: [t for t in v.split(",") if t],
        default=None,
        help="comma-separated labels to keep (default: all)",
    )
    p.add_argument(
        "--discontinuous",
        choices=("first", "skip"),
        default="first",
        help="discontinuous spans: first fragment or skip (default: %(default)s)",
    )
    p.add_argument("--strict", action="store_true", help="stop at the first span that cannot be written as read")
    p.add_argument("--text-field", default="text", help="JSON key of the text (default: %(default)s)")
    p.add_argument(
        "--offsets",
        choices=("auto", "codepoints", "utf16"),
        default="auto",
        help="offset units of the JSON input (default: %(default)s)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        annotated, counts = read_annotated(args.input, args.source, ReadOptions(args.text_field, args.offsets))
        overlaps = "longest" if args.target == "conll" else "keep"
        policy = SpanPolicy(
            tuple(args.types) if args.types else None, "keep", args.discontinuous, overlaps, args.strict
        )
        docs, report = resolve(annotated, policy, args.input, None, counts)
        write_documents(docs, args.output, args.target)
    except (DataError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"converted: {report.line()} -> {args.output} ({args.target})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
