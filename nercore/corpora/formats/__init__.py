"""Readers and writers for annotation tools' exports, all character-offset based.

=============  =============================================================================
``conll``      token<TAB>tag lines, a blank line between sentences (BIO, IOB1 or BIOES)
``pubtator``   PubTator blocks: ``id|t|title``, ``id|a|abstract``, tab-separated mentions
``labelstudio`` Label Studio's JSON export (a list of tasks)
``doccano``    Doccano's sequence-labelling JSONL (``label`` or ``entities``)
``spacy``      Prodigy / spaCy JSONL (``text`` plus ``spans``; accepted answers only)
``brat``       a folder of BRAT standoff pairs (``.txt`` + ``.ann``)
=============  =============================================================================

``read_annotated`` returns ``AnnotatedDocument``s with offsets in code points;
``nercore.corpora.annotations.resolve`` turns them into gold spans under one policy for every format.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nercore.corpora.annotations import AnnotatedDocument, AnnotationReport, SpanPolicy, resolve
from nercore.corpora.documents import DataError, Document
from nercore.corpora.formats import brat, doccano, flat, labelstudio, prodigy

FORMATS = ("conll", "pubtator", "labelstudio", "doccano", "spacy", "brat")
OFFSET_UNITS = ("auto", "codepoints", "utf16")


@dataclass(frozen=True)
class ReadOptions:
    """Settings of the JSON readers.

    Attributes:
        text_field: the key of the note text (Label Studio: inside ``data``).
        offsets: ``codepoints`` (Python string indices), ``utf16`` (JavaScript string indices:
            an emoji counts two), or ``auto``: code points, except Label Studio spans whose stored
            ``text`` only matches as UTF-16 (older Label Studio front ends counted that way).
    """

    text_field: str = "text"
    offsets: str = "auto"

    def __post_init__(self) -> None:
        if self.offsets not in OFFSET_UNITS:
            raise ValueError(f"expected --offsets one of {', '.join(OFFSET_UNITS)}, got {self.offsets!r}")
        if not self.text_field:
            raise ValueError("expected a non-empty --text-field")


def detect_format(path: str | Path) -> str:
    """The format of a file or folder where its content makes it unambiguous.

    Raises:
        DataError: not found, or no single format fits (pass ``--format``).
    """
    path = Path(path)
    if path.is_dir():
        if any(path.glob("*.ann")):
            return "brat"
        raise DataError(f"{path}: a folder without .ann files; expected a BRAT folder")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with open(path, encoding="utf-8") as f:
        head = f.read(65536)
    stripped = head.lstrip("\ufeff \t\r\n")
    if stripped.startswith("["):
        return "labelstudio"
    if stripped.startswith("{"):
        first = stripped.splitlines()[0]
        try:
            keys = set(json.loads(first))
        except json.JSONDecodeError:
            raise DataError(f"{path}: the first line is not one JSON object; pass --format") from None
        if "spans" in keys:
            return "spacy"
        if "label" in keys or "entities" in keys:
            return "doccano"
        raise DataError(f"{path}: JSONL without 'spans', 'label' or 'entities'; pass --format")
    if re.match(r"[^|\t\n]+\|[ta]\|", stripped):
        return "pubtator"
    first_line = next(
        (line for line in stripped.splitlines() if line.strip() and not line.startswith("-DOCSTART-")), ""
    )
    if "\t" in first_line:
        return "conll"
    raise DataError(f"{path}: cannot tell the format from the content; pass --format")


def read_annotated(
    path: str | Path, fmt: str = "auto", options: ReadOptions | None = None
) -> tuple[list[AnnotatedDocument], Counter]:
    """The documents of one file (or BRAT folder) in any supported format, and what the reader
    left out as a count per reason (e.g. ``tasks_unlabelled``, ``examples_rejected``).

    Raises:
        DataError: malformed input; the message names the file and the line, task or span.
    """
    options = options or ReadOptions()
    fmt = detect_format(path) if fmt == "auto" else fmt
    readers = {
        "conll": lambda p: flat.read_conll_documents(p),
        "pubtator": lambda p: flat.read_pubtator_documents(p),
        "labelstudio": lambda p: labelstudio.read(p, options),
        "doccano": lambda p: doccano.read(p, options),
        "spacy": lambda p: prodigy.read(p, options),
        "brat": lambda p: brat.read(p),
    }
    if fmt not in readers:
        raise ValueError(f"expected a format among {', '.join(FORMATS)} or auto, got {fmt!r}")
    if fmt != "brat" and not Path(path).is_file():
        raise DataError(f"{path}: file not found")
    return readers[fmt](Path(path))


def write_documents(docs: Sequence[Document], path: str | Path, fmt: str) -> None:
    """Write gold documents (flat spans) in a format; ``brat`` writes a folder."""
    writers = {
        "conll": flat.write_conll,
        "pubtator": flat.write_pubtator,
        "labelstudio": labelstudio.write,
        "doccano": doccano.write,
        "spacy": prodigy.write,
        "brat": brat.write,
    }
    if fmt not in writers:
        raise ValueError(f"expected a format among {', '.join(FORMATS)}, got {fmt!r}")
    writers[fmt](list(docs), Path(path))


def load_documents(
    path: str | Path, fmt: str, policy: SpanPolicy, tokenizer=None, options: ReadOptions | None = None
) -> tuple[list[Document], AnnotationReport]:
    """Gold documents of one file under a ``SpanPolicy``, and its ``AnnotationReport``.

    The one path from any format to gold spans, for training, evaluation and conversion.
    """
    docs, counts = read_annotated(path, fmt, options)
    return resolve(docs, policy, str(path), tokenizer, counts)
