"""Synthetic clinical notes shipped with the project, for the local demo and tests.

``python -m job_core.samples OUT.parquet`` writes them as a notes Parquet file. No real patient
data: every note below was written for this project.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

NOTES = [
    (
        "Progress note",
        "Patient is a 67-year-old man admitted with community-acquired pneumonia. Started on amoxicillin 1 g three "
        "times daily. History of type 2 diabetes mellitus on metformin and hypertension on lisinopril.",
    ),
    (
        "Discharge summary",
        "Discharge diagnosis: acute exacerbation of COPD. Treated with prednisone 40 mg daily and nebulised "
        "salbutamol. Patient also reports chronic back pain managed with paracetamol.",
    ),
    (
        "ED note",
        "Presented with chest pain radiating to the left arm. Troponin elevated; diagnosed with non-ST elevation "
        "myocardial infarction. Given aspirin 300 mg, clopidogrel and heparin infusion.",
    ),
    (
        "Clinic letter",
        "Follow-up for rheumatoid arthritis. Methotrexate 15 mg weekly continued with folic acid. Mild anaemia "
        "noted; no signs of liver toxicity.",
    ),
    (
        "Consult",
        "Asked to see for new-onset atrial fibrillation after surgery. Rate controlled with metoprolol; started "
        "apixaban for stroke prevention. Known chronic kidney disease stage 3.",
    ),
    (
        "Progress note",
        "Cellulitis of the right leg improving on intravenous cefazolin. Blood cultures negative. Patient has "
        "peripheral vascular disease and is on atorvastatin.",
    ),
    (
        "Discharge summary",
        "Admitted with diabetic ketoacidosis, managed with insulin infusion and fluids. Discharged on insulin "
        "glargine. Depression stable on sertraline 50 mg.",
    ),
    (
        "Nursing note",
        "Patient complained of nausea and headache after morphine. Ondansetron given with relief. No vomiting "
        "overnight.\r\nPain score 3/10.\r\n",
    ),
    (
        "Clinic letter",
        "Seen for asthma review. Uses budesonide–formoterol inhaler twice daily. Seasonal allergic rhinitis treated "
        "with cetirizine. No nocturnal symptoms.",
    ),
    (
        "Operative report",
        "Procedure: laparoscopic cholecystectomy for symptomatic cholelithiasis. Anaesthesia with propofol and "
        "fentanyl. Cefazolin given before incision. No complications.",
    ),
    (
        "Psychiatry note",
        "Bipolar disorder, currently euthymic on lithium carbonate 800 mg nightly. Lithium level therapeutic. "
        "Hypothyroidism treated with levothyroxine.",
    ),
    (
        "Oncology note",
        "Metastatic breast cancer on cycle 4 of paclitaxel. Grade 2 peripheral neuropathy reported. Neutropenia "
        "resolved; filgrastim not required this cycle.",
    ),
    (
        "Unicode note",
        "Pt c/o fever\u00a0and cough — ?influenza. Oseltamivir started. Temp 38.9\u00b0C. Café-au-lait spots noted "
        "(NF1?). 😷 mask advised.",
    ),
]

LONG_FILLER = "Vital signs stable overnight. Patient ambulating with assistance and tolerating diet. "


def sample_rows() -> list[dict]:
    """The sample notes as rows, plus a long note and a few rows that the job must reject."""
    rows = []
    for i, (kind, text) in enumerate(NOTES, start=1):
        rows.append({"note_id": f"N{i:04d}", "patient_id": f"P{(i % 5) + 1:03d}", "note_type": kind, "text": text})
    long_text = (
        "Long admission note. "
        + LONG_FILLER * 400
        + "Final diagnosis: sepsis secondary to pyelonephritis, treated with ceftriaxone."
    )
    rows.append({"note_id": "N9000", "patient_id": "P001", "note_type": "Long note", "text": long_text})
    rows.append({"note_id": "N9001", "patient_id": "P002", "note_type": "Empty", "text": ""})
    rows.append({"note_id": "N9002", "patient_id": "P003", "note_type": "Blank", "text": "   \n\t "})
    rows.append(
        {
            "note_id": None,
            "patient_id": "P004",
            "note_type": "No id",
            "text": "Fever and cough treated with amoxicillin.",
        }
    )
    rows.append(dict(rows[0]))  # the same note exported twice: tagged once, the copy rejected
    return rows


def write_sample_notes(path: str | Path) -> Path:
    """Write the sample notes Parquet file and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema(
        [("note_id", pa.string()), ("patient_id", pa.string()), ("note_type", pa.string()), ("text", pa.string())]
    )
    pq.write_table(pa.Table.from_pylist(sample_rows(), schema=schema), path)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m job_core.samples OUT.parquet", file=sys.stderr)
        sys.exit(2)
    print(write_sample_notes(sys.argv[1]))
