"""BRAT standoff: a folder of ``NAME.txt`` + ``NAME.ann`` pairs.

Only text-bound annotations (``T`` lines: ``T1<TAB>Label 0 5;7 9<TAB>mention``) are entities;
relations, events, attributes and notes are ignored (counted as ``brat_other_lines``). A
discontinuous span keeps all its fragments here; ``resolve`` decides what to do with it.
The ``.txt`` is read byte-exact (no newline translation), as BRAT counts offsets: a CRLF is two
characters.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from nercore.corpora.annotations import AnnotatedDocument, Annotation, check_offsets
from nercore.corpora.documents import DataError, Document

BREAKS = re.compile(r"[\r\n\t]")  # not allowed in an .ann mention field


def read(folder: Path) -> tuple[list[AnnotatedDocument], Counter]:
    if not folder.is_dir():
        raise DataError(f"{folder}: expected a folder of BRAT .txt/.ann pairs")
    docs, counts = [], Counter()
    for ann_path in sorted(folder.rglob("*.ann")):
        txt_path = ann_path.with_suffix(".txt")
        if not txt_path.is_file():
            raise DataError(f"{ann_path}: no matching .txt file")
        with open(txt_path, encoding="utf-8", newline="") as f:
            text = f.read()
        doc_id = ann_path.relative_to(folder).with_suffix("").as_posix()
        spans = []
        with open(ann_path, encoding="utf-8") as f:
            for number, raw in enumerate(f, start=1):
                line = raw.rstrip("\r\n")
                if not line.strip():
                    continue
                if not line.startswith("T"):
                    counts["brat_other_lines"] += 1
                    continue
                fields = line.split("\t")
                try:
                    label, locations = fields[1].split(" ", 1)
                    fragments = tuple(
                        sorted((int(a), int(b)) for a, b in (frag.split() for frag in locations.split(";")))
                    )
                except (IndexError, ValueError):
                    raise DataError(
                        f"{ann_path}:{number}: expected 'T<n><TAB>Label START END[;START END]<TAB>text'"
                    ) from None
                ann = Annotation(label, fragments, fields[0])
                check_offsets(str(ann_path), doc_id, text, ann)
                spans.append(ann)
        docs.append(AnnotatedDocument(doc_id, text, tuple(spans)))
    if not docs:
        raise DataError(f"{folder}: no .ann files")
    return docs, counts


def file_names(docs: list[Document]) -> list[str]:
    """A distinct, safe file stem for each document, from its id."""
    names, seen = [], set()
    for i, doc in enumerate(docs):
        name = re.sub(r"[^\w.-]", "_", doc.doc_id)[:100] or f"doc{i + 1}"
        if name in seen:
            name = f"{name}-{i + 1}"
        seen.add(name)
        names.append(name)
    return names


def write(docs: list[Document], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for doc, name in zip(docs, file_names(docs)):
        with open(folder / f"{name}.txt", "w", encoding="utf-8", newline="") as f:
            f.write(doc.text)
        lines = [
            f"T{k}\t{t} {s} {e}\t{BREAKS.sub(' ', doc.text[s:e])}" for k, (t, s, e) in enumerate(doc.spans, start=1)
        ]
        with open(folder / f"{name}.ann", "w", encoding="utf-8", newline="") as f:
            f.write("".join(line + "\n" for line in lines))
