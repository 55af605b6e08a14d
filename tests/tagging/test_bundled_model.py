"""End-to-end checks with the bundled default model."""

import json

import pytest

from nercore import Tagger
from nercore.sources import DEFAULT_MODEL_DIR

pytestmark = pytest.mark.skipif(not (DEFAULT_MODEL_DIR / "nercore.json").is_file(), reason="bundled model not present")


@pytest.fixture(scope="module")
def bundled():
    return Tagger.load(device="cpu")


def test_bundled_model_finds_pneumonia_and_amoxicillin(bundled):
    note = "Patient admitted with community-acquired pneumonia.\nStarted amoxicillin 500 mg TID."
    found = {(e.entity_type, e.text) for e in bundled.tag([note])[0]}
    assert ("Disease", "pneumonia") in found or ("Disease", "community-acquired pneumonia") in found
    assert ("Chemical", "amoxicillin") in found


def test_bundled_model_entities_carry_clinical_context(bundled):
    note = "No evidence of pneumonia.\nPAST MEDICAL HISTORY: Asthma.\nFAMILY HISTORY: Her mother had breast cancer."
    by_text = {e.text: e for e in bundled.tag([note])[0]}
    assert {"pneumonia", "Asthma", "breast cancer"} <= set(by_text)
    assert (by_text["pneumonia"].negation, by_text["pneumonia"].section) == ("negated", None)
    assert (by_text["Asthma"].temporality, by_text["Asthma"].section) == ("historical", "past_medical_history")
    assert (by_text["breast cancer"].experiencer, by_text["breast cancer"].section) == ("other", "family_history")
    plain = Tagger.load(device="cpu", context=False).tag([note])[0]
    assert [(e.start_char, e.end_char) for e in plain] == [(e.start_char, e.end_char) for e in bundled.tag([note])[0]]
    assert all(e.negation is None and e.section is None for e in plain)


def test_bundled_model_metadata(bundled):
    assert bundled.label_set.entity_types == ("Chemical", "Disease")
    assert bundled.version and len(bundled.version) == 16
    card = (DEFAULT_MODEL_DIR / "README.md").read_text()
    assert "Dev scores" in card
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir())
    assert size < 50 * 2**20


def test_bundled_model_entity_at_the_very_end_of_a_long_note(bundled):
    text = "Vital signs stable, tolerating diet. " * 1500 + "Started amoxicillin for pneumonia"
    entities = bundled.tag([text])[0]
    assert any(e.text == "pneumonia" and e.end_char == len(text) for e in entities)
    assert all(e.text == text[e.start_char : e.end_char] for e in entities)


def test_job_with_bundled_model_on_sample_notes(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from beam_jobs.tag_notes import run
    from job_core.samples import sample_rows, write_sample_notes

    notes = write_sample_notes(tmp_path / "notes.parquet")
    summary = run(["--input", str(notes), "--output", str(tmp_path / "out"), "--runner", "FnApiRunner"])
    assert summary["notes_tagged"] == len(sample_rows()) - 4
    assert summary["entities_by_type"].get("Chemical", 0) > 10 and summary["entities_by_type"].get("Disease", 0) > 10
    table = pa.concat_tables([pq.read_table(f) for f in (tmp_path / "out").glob("entities-*.parquet")])
    texts = {r["note_id"]: r["text"] for r in sample_rows() if r["note_id"]}
    rows = table.to_pylist()
    assert all(r["text"] == texts[r["note_id"]][r["start_char"] : r["end_char"]] for r in rows)
    assert {"note_id": "N9000", "text": "sepsis"} in [{"note_id": r["note_id"], "text": r["text"]} for r in rows]
    # Disease entities get ICD-10-CM codes (from the tests' small index, see conftest)
    import simple_icd_10_cm as icd

    sepsis = [r for r in rows if r["text"].lower() == "sepsis"]
    assert sepsis and all(r["icd10cm_code"].startswith("A41") and icd.is_valid_item(r["icd10cm_code"]) for r in sepsis)
    assert summary["entities_with_code"] > 0
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["model_version"] == Tagger.load().version


def test_pubtator_offsets_on_real_documents(bundled, shared_data, capsys):
    from nercore.cli.evaluate import main
    from nercore.corpora.documents import read_pubtator
    from nercore.evaluation.tagger import evaluate_documents

    path = shared_data / "ncbi_disease" / "pubtator" / "devel.txt"
    docs = read_pubtator(path)[:40]
    for d in docs:
        for e in bundled.tag([d.text])[0]:
            assert e.text == d.text[e.start_char : e.end_char]
    scores = evaluate_documents(bundled, docs, types=["Disease"])
    assert scores.overall.f1 > 0.6  # a sanity floor; the full devel figures are in MODEL.md
    assert main(["--data", str(path), "--format", "pubtator", "--types", "Disease", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["per_type"]["Disease"]["support"] > 500


def test_bundled_model_on_real_notes_alone_together_reversed(bundled, shared_data):
    """Default precision, real transcriptions: a note's entities and scores never depend on its neighbours."""
    import csv

    with open(shared_data / "mtsamples" / "mtsamples.csv", encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f) if r["text"].strip()][:8]
    texts = [t[:3000] for t in texts]  # several widths and windows, a bounded test time
    alone = [bundled.tag([t])[0] for t in texts]
    together = bundled.tag(texts)
    reversed_order = bundled.tag(texts[::-1])[::-1]
    assert sum(len(e) for e in together) > 20
    assert alone == together == reversed_order
