"""Doccano's sequence-labelling JSONL: one ``{"text", "label"}`` or ``{"text", "entities"}`` per line.

``label`` is a list of ``[start, end, label]``; ``entities`` a list of objects with
``start_offset``, ``end_offset`` and ``label`` (the export with relations). Offsets are code
points (``--offsets utf16`` for an export that counted UTF-16 units).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from nercore.corpora.annotations import AnnotatedDocument, Annotation, check_offsets
from nercore.corpora.documents import DataError, Document
from nercore.corpora.formats.offsets import OffsetConverter


def json_lines(path: Path):
    """``(line number, object)`` of each non-blank line of a JSONL file."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                raise DataError(f"{path}:{number}: not a JSON object") from None
            if not isinstance(item, dict):
                raise DataError(f"{path}:{number}: expected a JSON object, got {type(item).__name__}")
            yield number, item


def _entities(item: dict, where: str) -> list[tuple[int, int, str]]:
    out = []
    for k, entry in enumerate(item.get("entities", item.get("label")) or []):
        try:
            if isinstance(entry, dict):
                out.append((int(entry["start_offset"]), int(entry["end_offset"]), str(entry["label"])))
            else:
                start, end, label = entry
                out.append((int(start), int(end), str(label)))
        except (KeyError, TypeError, ValueError):
            raise DataError(
                f"{where}: entity {k + 1}: expected [start, end, label] or start_offset/end_offset/label"
            ) from None
    return out


def read(path: Path, options) -> tuple[list[AnnotatedDocument], Counter]:
    docs = []
    for number, item in json_lines(path):
        where = f"{path}:{number}"
        text = item.get(options.text_field)
        if not isinstance(text, str):
            raise DataError(
                f"{where}: expected a text in '{options.text_field}', found keys {sorted(item)[:10]} (see --text-field)"
            )
        doc_id = str(item.get("id", number))
        convert = OffsetConverter(text, options.offsets, where)
        spans = []
        for k, (start, end, label) in enumerate(_entities(item, where), start=1):
            (start, end), flag = convert(start, end)
            ann = Annotation(label, ((start, end),), f"line {number} #{k}", flag)
            check_offsets(str(path), doc_id, text, ann)
            spans.append(ann)
        docs.append(AnnotatedDocument(doc_id, text, tuple(spans)))
    if not docs:
        raise DataError(f"{path}: empty file (no documents)")
    return docs, Counter()


def write(docs: list[Document], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(
                json.dumps(
                    {"id": doc.doc_id, "text": doc.text, "label": [[s, e, t] for t, s, e in doc.spans]},
                    ensure_ascii=False,
                )
                + "\n"
            )
