"""Print a few entities of a finished run with their context, for a quick look.

``python -m job_core.show OUTPUT_DIR NOTES.parquet [--examples N]``

Unlike the job, this prints note text: use it on the synthetic sample notes or where you are
allowed to read the notes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CONTEXT = 40


def examples(output: Path, notes_file: Path, limit: int) -> list[str]:
    files = sorted(output.glob("entities-*.parquet"))
    if not files:
        return []
    entities = pa.concat_tables([pq.read_table(f) for f in files]).to_pylist()
    notes = {r["note_id"]: r["text"] for r in pq.read_table(notes_file, columns=["note_id", "text"]).to_pylist()}
    # One example per note, types taken in turn, so the sample shows variety.
    entities.sort(key=lambda e: (e["note_id"], e["start_char"]))
    types = sorted({e["entity_type"] for e in entities})
    by_note: dict[str, list[dict]] = {}
    for e in entities:
        by_note.setdefault(e["note_id"], []).append(e)
    picked = []
    for i, note_entities in enumerate(by_note.values()):
        wanted = types[i % len(types)]
        picked.append(next((e for e in note_entities if e["entity_type"] == wanted), note_entities[0]))
    picked = picked[:limit]
    lines = []
    for e in picked:
        text = notes[e["note_id"]]
        left = text[max(0, e["start_char"] - CONTEXT) : e["start_char"]].replace("\n", " ").replace("\r", " ")
        right = text[e["end_char"] : e["end_char"] + CONTEXT].replace("\n", " ").replace("\r", " ")
        code = f"  ICD-10-CM {e['icd10cm_code']}" if e.get("icd10cm_code") else ""
        lines.append(f"{e['note_id']:<6} {e['entity_type']:<9} {e['score']:.2f}  …{left}[{e['text']}]{right}…{code}")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="show-entities", description=__doc__.splitlines()[0])
    p.add_argument("output", type=Path)
    p.add_argument("notes", type=Path)
    p.add_argument("--examples", type=int, default=8)
    args = p.parse_args(argv)
    summary = json.loads((args.output / "summary.json").read_text())
    print(f"\nExample entities (of {summary['entities']:,}):")
    for line in examples(args.output, args.notes, args.examples):
        print("  " + line)
    print(
        f"\nEntity tables: {args.output}/entities-*.parquet\nICD-10-CM:     {args.output}/codes-*.parquet\n"
        f"Rejects:       {args.output}/rejects-*.parquet\nSummary:       {args.output}/summary.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
