"""Prodigy / spaCy JSONL: ``{"text", "spans": [{"start", "end", "label"}]}`` per line.

When a line has an ``answer`` (Prodigy), only ``accept`` counts; ``reject`` and ``ignore`` lines
are left out and counted (``examples_rejected``, ``examples_ignored``). The document id is
``meta.id``, else ``_input_hash``, else the line number. Offsets are code points.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from nercore.corpora.annotations import AnnotatedDocument, Annotation, check_offsets
from nercore.corpora.documents import DataError, Document
from nercore.corpora.formats.doccano import json_lines
from nercore.corpora.formats.offsets import OffsetConverter


def read(path: Path, options) -> tuple[list[AnnotatedDocument], Counter]:
    docs, counts = [], Counter()
    for number, item in json_lines(path):
        where = f"{path}:{number}"
        answer = item.get("answer", "accept")
        if answer != "accept":
            counts["examples_rejected" if answer == "reject" else "examples_ignored"] += 1
            continue
        text = item.get(options.text_field)
        if not isinstance(text, str):
            raise DataError(
                f"{where}: expected a text in '{options.text_field}', found keys {sorted(item)[:10]} (see --text-field)"
            )
        meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
        doc_id = str(meta.get("id", item.get("_input_hash", number)))
        convert = OffsetConverter(text, options.offsets, where)
        spans = []
        for k, span in enumerate(item.get("spans") or [], start=1):
            try:
                start, end, label = int(span["start"]), int(span["end"]), str(span["label"])
            except (KeyError, TypeError, ValueError):
                raise DataError(f"{where}: span {k}: expected start, end and label") from None
            (start, end), flag = convert(start, end, span.get("text"))
            ann = Annotation(label, ((start, end),), f"line {number} #{k}", flag)
            check_offsets(str(path), doc_id, text, ann)
            spans.append(ann)
        docs.append(AnnotatedDocument(doc_id, text, tuple(spans)))
    if not docs and not counts:
        raise DataError(f"{path}: empty file (no documents)")
    return docs, counts


def write(docs: list[Document], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for doc in docs:
            spans = [{"start": s, "end": e, "label": t} for t, s, e in doc.spans]
            f.write(
                json.dumps(
                    {"text": doc.text, "spans": spans, "answer": "accept", "meta": {"id": doc.doc_id}},
                    ensure_ascii=False,
                )
                + "\n"
            )
