"""Evaluate a model: strict entity-level P/R/F1 through ``Tagger.tag``.

``python -m nercore.cli.evaluate --data FILE [--data FILE ...] [--model DIR] [--format F] [--json]``
(also installed as ``nercore-evaluate``).

Any format of ``nercore.corpora.formats`` (detected unless ``--format`` says). Gold spans are
scored as annotated by default; what a flat tagger can never match (boundaries inside a word,
overlaps, discontinuous spans) is counted per file on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import torch

from nercore.cli.options import add_annotation_options
from nercore.corpora.annotations import SpanPolicy, resolve
from nercore.corpora.documents import DataError, Document
from nercore.corpora.formats import ReadOptions, read_annotated
from nercore.evaluation.tagger import evaluate_documents, format_table
from nercore.tagging.tagger import Tagger


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nercore-evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--data", action="append", required=True, help="labelled file (or BRAT folder); repeat for several")
    p.add_argument(
        "--model", default=None, help="model folder, gs:// or s3:// folder, or hub name (default: the bundled model)"
    )
    add_annotation_options(p, training=False)
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when present)")
    p.add_argument(
        "--batch-tokens",
        type=int,
        default=None,
        help="padded sub-words per encoder call (default: 2048 on CPU, 16384 on GPU)",
    )
    p.add_argument(
        "--dtype",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="encoder precision; auto: bfloat16 where native (GPU, CPUs with AVX512-BF16/AMX), else float32",
    )
    p.add_argument("--quantize", action="store_true", help="dynamic int8 quantisation (CPU)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        policy = SpanPolicy(
            tuple(args.types) if args.types else None, args.on_misaligned, args.discontinuous, "keep", args.strict
        )
        options = ReadOptions(args.text_field, args.offsets)
        # Malformed input fails before the model loads.
        files = {path: read_annotated(path, args.format, options) for path in args.data}
        dtype = None if args.dtype == "auto" else getattr(torch, args.dtype)
        tagger = Tagger.load(
            args.model, args.device, batch_tokens=args.batch_tokens, dtype=dtype, quantize=args.quantize
        )
        docs: list[Document] = []
        for path, (annotated, counts) in files.items():
            gold, report = resolve(annotated, policy, path, tagger.tokenizer, counts)
            docs.extend(gold)
            print(f"data: {report.line()}", file=sys.stderr, flush=True)
    except (DataError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    progress = not args.json and sys.stderr.isatty()
    scores = evaluate_documents(tagger, docs, args.types, progress)
    print(json.dumps(scores.as_dict(), sort_keys=True) if args.json else format_table(scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
