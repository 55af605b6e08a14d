"""Evaluate a model: strict entity-level P/R/F1 through ``Tagger.tag``.

``python -m nercore.evaluate --data FILE [--data FILE ...] [--model DIR] [--format F] [--json]``

Any format of ``nercore.formats`` (detected unless ``--format`` says): each document's text is
tagged as it is and predicted character spans must equal gold ones exactly. CoNLL sentences are
tagged as their tokens joined by single spaces; PubTator documents as ``title + " " + abstract``.
Gold spans are scored as annotated by default; what a flat tagger can never match (boundaries
inside a word, overlaps, discontinuous spans) is counted per file on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence

from nercore.data import DataError, Document, Sentence
from nercore.metrics import strict_scores

CHUNK = 512  # texts per Tagger.tag call, so progress can be shown


def predict_spans(tagger, texts: Sequence[str], progress: bool = False) -> list[list[tuple[str, int, int]]]:
    """Predicted ``(type, start, end)`` spans of each text."""
    from tqdm import tqdm

    out: list[list[tuple[str, int, int]]] = []
    chunks = range(0, len(texts), CHUNK)
    for i in tqdm(chunks, desc="evaluate", unit="chunk", disable=not progress, file=sys.stderr):
        for entities in tagger.tag(texts[i : i + CHUNK]):
            out.append([(e.entity_type, e.start_char, e.end_char) for e in entities])
    return out


def evaluate_sentences(tagger, sentences: Sequence[Sentence], types: Iterable[str] | None = None, progress: bool = False) -> dict:
    texts, gold = zip(*(s.text_and_spans() for s in sentences)) if sentences else ((), ())
    return strict_scores(list(gold), predict_spans(tagger, list(texts), progress), types)


def evaluate_documents(tagger, docs: Sequence[Document], types: Iterable[str] | None = None, progress: bool = False) -> dict:
    predicted = predict_spans(tagger, [d.text for d in docs], progress)
    return strict_scores([list(d.spans) for d in docs], predicted, types)


def format_table(scores: dict) -> str:
    rows = [("type", "precision", "recall", "f1", "support")]
    for name, s in list(scores["per_type"].items()) + [("overall", scores["overall"])]:
        rows.append((name, f"{s['precision']:.4f}", f"{s['recall']:.4f}", f"{s['f1']:.4f}", str(s["support"])))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows)


def build_parser() -> argparse.ArgumentParser:
    from nercore.train import add_annotation_options

    p = argparse.ArgumentParser(prog="nercore-evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--data", action="append", required=True, help="labelled file (or BRAT folder); repeat for several")
    p.add_argument("--model", default=None, help="model folder, gs:// or s3:// folder, or hub name (default: the bundled model)")
    add_annotation_options(p, training=False)
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when present)")
    p.add_argument("--batch-tokens", type=int, default=None, help="padded sub-words per encoder call (default: 2048 on CPU, 16384 on GPU)")
    p.add_argument("--dtype", choices=("auto", "float32", "bfloat16"), default="auto",
                   help="encoder precision; auto: bfloat16 where native (GPU, CPUs with AVX512-BF16/AMX), else float32")
    p.add_argument("--quantize", action="store_true", help="dynamic int8 quantisation (CPU)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from nercore.annotations import SpanPolicy, resolve
    from nercore.formats import ReadOptions, read_annotated
    from nercore.tagger import Tagger

    try:
        policy = SpanPolicy(tuple(args.types) if args.types else None, args.on_misaligned, args.discontinuous, "keep", args.strict)
        options = ReadOptions(args.text_field, args.offsets)
        files = {path: read_annotated(path, args.format, options) for path in args.data}  # malformed input fails before the model loads
        import torch

        dtype = None if args.dtype == "auto" else getattr(torch, args.dtype)
        tagger = Tagger.load(args.model, args.device, batch_tokens=args.batch_tokens, dtype=dtype, quantize=args.quantize)
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
    if args.json:
        print(json.dumps(scores, sort_keys=True))
    else:
        print(format_table(scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
