"""What the engine tests compare: the adversarial notes, and a published folder's tables in a stable order."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from job_core.samples import sample_rows

# Summary fields that differ between any two runs (runner and its facts: by design).
VOLATILE = ("run_id", "output", "seconds", "runner", "spark")
NOTES_SCHEMA = pa.schema(
    [("note_id", pa.string()), ("patient_id", pa.string()), ("note_type", pa.string()), ("text", pa.string())]
)


def adversarial_rows() -> list[dict]:
    """The sample notes (duplicates, conflicting duplicates, blank, empty and null rows) plus the
    hard cases of the job tests: a long note, combining marks, emoji, CRLF, a NUL, zero-width space."""
    rows = sample_rows()
    rows += [
        {"note_id": "long", "patient_id": "P900", "note_type": "x", "text": "Stable. " * 5000 + "pneumonia"},
        {
            "note_id": "odd",
            "patient_id": "P901",
            "note_type": "x",
            "text": "e\u0301te\u0301 pneumonia\u00a0😀 amoxicillin\r\nnext\u200bline 肺炎\x00pneumonia",
        },
        {"note_id": "N0001", "patient_id": "P999", "note_type": "Progress note", "text": rows[0]["text"]},
    ]
    return rows


def write_notes(path: Path, rows: list[dict], **kwargs) -> Path:
    pq.write_table(pa.Table.from_pylist(rows, schema=NOTES_SCHEMA), path, **kwargs)
    return path


def tables(folder: Path) -> dict:
    """Every published table's rows in a stable order, and the summary without per-run fields."""
    out = {}
    for name, key in (("entities", "entity_id"), ("codes", "entity_id"), ("rejects", "note_id")):
        rows = []
        for path in sorted(folder.glob(f"{name}-*.parquet")):
            rows += pq.read_table(path).to_pylist()
        out[name] = sorted(rows, key=lambda r: (str(r[key]), json.dumps(r, sort_keys=True, default=str)))
    summary = json.loads((folder / "summary.json").read_text())
    out["summary"] = {k: v for k, v in summary.items() if k not in VOLATILE}
    return out


def schemas(folder: Path) -> dict[str, pa.Schema]:
    """Each table's Arrow schema as published."""
    return {name: pq.read_schema(next(folder.glob(f"{name}-*.parquet"))) for name in ("entities", "codes", "rejects")}
