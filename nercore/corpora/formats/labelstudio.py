"""Label Studio's JSON export: a list of tasks, each with ``data`` and ``annotations``.

Which annotation of a task counts: the latest one that was not cancelled (``was_cancelled``),
by ``updated_at``, then ``created_at``, then ``id``. A task with no such annotation was never
labelled and is left out (counted as ``tasks_unlabelled``); a submitted annotation with no region
is a document without entities. The document id is ``data.doc_id`` where the tasks have one (as
``nercore.cli.convert`` writes them), else the task id. Regions of ``type: "labels"`` become spans, one per label;
``predictions`` are ignored.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from nercore.corpora.annotations import AnnotatedDocument, Annotation, check_offsets
from nercore.corpora.documents import DataError, Document
from nercore.corpora.formats.offsets import OffsetConverter


def _latest(annotations: list) -> dict | None:
    usable = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
    if not usable:
        return None
    return max(usable, key=lambda a: (str(a.get("updated_at") or ""), str(a.get("created_at") or ""), a.get("id") or 0))


def read(path: Path, options) -> tuple[list[AnnotatedDocument], Counter]:
    try:
        with open(path, encoding="utf-8") as f:
            tasks = json.load(f)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: not valid JSON (line {err.lineno}, column {err.colno})") from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise DataError(f"{path}: expected a JSON list of tasks, got {type(tasks).__name__}")
    docs, counts = [], Counter()
    for number, task in enumerate(tasks, start=1):
        where = f"{path}: task {number}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataError(f"{where}: expected an object with a 'data' object")
        text = task["data"].get(options.text_field)
        if not isinstance(text, str):
            raise DataError(
                f"{where}: expected a text in data.{options.text_field}, found keys {sorted(task['data'])[:10]} (see "
                "--text-field)"
            )
        annotation = _latest(task.get("annotations") or task.get("completions") or [])
        if annotation is None:
            counts["tasks_unlabelled"] += 1
            continue
        doc_id = str(task["data"].get("doc_id", task.get("id", number)))
        convert = OffsetConverter(text, options.offsets, f"{where} (id {doc_id})")
        spans = []
        for k, region in enumerate(annotation.get("result") or []):
            if not isinstance(region, dict) or region.get("type") != "labels":
                continue
            value = region.get("value") or {}
            try:
                start, end, labels = int(value["start"]), int(value["end"]), list(value["labels"])
            except (KeyError, TypeError, ValueError):
                raise DataError(f"{where}: region {k + 1}: expected value.start, value.end and value.labels") from None
            (start, end), flag = convert(start, end, value.get("text"))
            for label in labels:
                spans.append(Annotation(str(label), ((start, end),), str(region.get("id") or f"region {k + 1}"), flag))
        for ann in spans:
            check_offsets(str(path), doc_id, text, ann)
        docs.append(AnnotatedDocument(doc_id, text, tuple(spans)))
    if not docs and not counts:
        raise DataError(f"{path}: no tasks")
    return docs, counts


def write(docs: list[Document], path: Path) -> None:
    """Tasks with one submitted annotation each; the document id in ``data.doc_id``."""
    tasks = []
    for number, doc in enumerate(docs, start=1):
        result = [
            {
                "id": f"{number}-{k}",
                "from_name": "label",
                "to_name": "text",
                "type": "labels",
                "value": {"start": s, "end": e, "text": doc.text[s:e], "labels": [t]},
            }
            for k, (t, s, e) in enumerate(doc.spans, start=1)
        ]
        tasks.append(
            {
                "id": number,
                "data": {"text": doc.text, "doc_id": doc.doc_id},
                "annotations": [{"id": number, "was_cancelled": False, "result": result}],
            }
        )
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
