"""The note-level codes table: which mentions count toward a note's code, and what a row says."""

from __future__ import annotations

import pyarrow as pa

from job_core.note_codes import add_note_codes
from job_core.rows import TableColumns, entity_id
from nercore.entity import Entity
from schemas import NOTE_CODES_SCHEMA


def disease(start, code, *, negation="affirmed", experiencer="patient", temporality="recent", section=None, score=0.8):
    return Entity(
        entity_type="Disease",
        start_char=start,
        end_char=start + 5,
        text="xxxxx",
        score=0.9,
        negation=negation,
        temporality=temporality,
        experiencer=experiencer,
        section=section,
        icd10cm_code=code,
        icd10cm_score=score,
    )


def test_affirmed_patient_non_hypothetical_mentions_make_one_row_per_code_with_their_evidence():
    entities = [
        disease(40, "J18.9", section="assessment", score=0.7),
        disease(10, "J18.9", section="history", temporality="historical", score=0.9),
        disease(60, "E11.9"),
        disease(70, "I10", negation="negated"),  # not counted: negated
        disease(80, "I10", experiencer="other"),  # family history: not the patient's
        disease(90, "I10", temporality="hypothetical"),  # "return if chest pain": not a diagnosis
        disease(95, None),  # no code linked
        Entity(entity_type="Chemical", start_char=100, end_char=105, text="xxxxx", score=0.9, icd10cm_code="X"),
    ]
    out = TableColumns(NOTE_CODES_SCHEMA)
    add_note_codes(out, "n1", entities, "v1")
    rows = pa.Table.from_batches([out.take()]).to_pylist()
    assert [r["icd10cm_code"] for r in rows] == ["E11.9", "J18.9"]
    pneumonia = rows[1]
    assert pneumonia["mentions"] == 2 and pneumonia["historical_mentions"] == 1  # history kept, flagged
    assert abs(pneumonia["best_score"] - 0.9) < 1e-6
    assert pneumonia["sections"] == ["assessment", "history"]
    assert (pneumonia["first_start_char"], pneumonia["first_end_char"]) == (10, 15)
    assert pneumonia["entity_ids"] == [entity_id("n1", "Disease", 10, 15), entity_id("n1", "Disease", 40, 45)]
    assert rows[0]["mentions"] == 1 and rows[0]["historical_mentions"] == 0 and rows[0]["sections"] == []


def test_without_context_nothing_qualifies():
    out = TableColumns(NOTE_CODES_SCHEMA)
    add_note_codes(out, "n1", [disease(0, "J18.9", negation=None, experiencer=None, temporality=None)], "v1")
    assert len(out) == 0
