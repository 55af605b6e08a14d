"""Command-line options shared by the training and evaluation commands."""

from __future__ import annotations

import argparse

from nercore.corpora.formats import FORMATS


def add_annotation_options(p: argparse.ArgumentParser, training: bool) -> None:
    """The options that say how labelled files are read (``nercore.cli.train`` and ``nercore.cli.evaluate``)."""
    p.add_argument(
        "--format",
        choices=(*FORMATS, "auto"),
        default="auto",
        help="format of the labelled files (default: detected from the content)",
    )
    types_help = "train on (default: every label in the training files)" if training else "score (default: all)"
    p.add_argument(
        "--types",
        type=lambda v: [t for t in v.split(",") if t],
        default=None,
        help=f"comma-separated entity types to {types_help}",
    )
    keep_help = "" if training else ", or keep the gold span as annotated (the tagger cannot match it)"
    p.add_argument(
        "--on-misaligned",
        choices=("snap", "skip", "error") if training else ("keep", "snap", "skip", "error"),
        default="snap" if training else "keep",
        help="a span boundary inside a word: snap it outwards to whole words, skip the span, stop with an "
        f"error{keep_help} (default: %(default)s)",
    )
    p.add_argument(
        "--discontinuous",
        choices=("first", "skip"),
        default="first",
        help="a discontinuous (BRAT) span: keep its first fragment or skip it (default: %(default)s)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="any span that cannot be represented as annotated is an error naming file, document and span",
    )
    p.add_argument(
        "--text-field", default="text", help="JSON key of the text (Label Studio: inside 'data') (default: %(default)s)"
    )
    p.add_argument(
        "--offsets",
        choices=("auto", "codepoints", "utf16"),
        default="auto",
        help="offset units of JSON exports: Python code points, UTF-16 code units (JavaScript), or auto "
        "(default: %(default)s)",
    )
