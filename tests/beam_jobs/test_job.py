"""The tag_notes job end to end: files in, tables out, every bad input, no text in logs."""

import json
import logging

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_jobs.tag_notes import main, run
from job_core.samples import sample_rows, write_sample_notes
from job_core.summary import format_summary
from nercore import Tagger
from schemas import CODES_SCHEMA, ENTITY_BASE_SCHEMA, REJECT_SCHEMA, SchemaError, entity_schema
from tests.fakes import BOOM, FakeHandler

RUNNER = ["--runner", "FnApiRunner"]


def read_dir(folder, prefix):
    files = sorted(folder.glob(f"{prefix}-*.parquet"))
    assert files, f"no {prefix} files in {folder}"
    return pa.concat_tables([pq.read_table(f) for f in files])


def write_notes(path, rows, schema=None):
    schema = schema or pa.schema([("note_id", pa.string()), ("text", pa.string())])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def check_offsets(entities, notes_by_id):
    for r in entities.to_pylist():
        assert r["text"] == notes_by_id[r["note_id"]][r["start_char"] : r["end_char"]]


def test_job_on_sample_notes_with_tiny_model(tiny_model_dir, tmp_path):
    notes = write_sample_notes(tmp_path / "in" / "notes.parquet")
    out = tmp_path / "out"
    summary = run(
        [
            "--input",
            str(notes),
            "--output",
            str(out),
            "--model",
            str(tiny_model_dir),
            "--passthrough",
            "patient_id,note_type",
            *RUNNER,
        ]
    )
    rows = sample_rows()
    assert summary["notes_read"] == len(rows)
    assert summary["notes_tagged"] + summary["notes_rejected"] == summary["notes_read"]
    assert summary["rejects_by_reason"] == {"blank_text": 1, "duplicate_note_id": 1, "empty_text": 1, "null_note_id": 1}
    assert json.loads((out / "summary.json").read_text()) == summary
    entities = read_dir(out, "entities")
    fields = [f for f in pq.read_schema(notes) if f.name in ("patient_id", "note_type")]
    assert entities.schema.equals(entity_schema([pa.field(f.name, f.type) for f in fields]))
    assert entities.num_rows == summary["entities"] > 0
    assert sum(summary["entities_by_type"].values()) == summary["entities"]
    check_offsets(entities, {r["note_id"]: r["text"] for r in rows if r["note_id"]})
    assert summary["windows"] > summary["notes_tagged"]  # the long note and the tiny window
    precision = Tagger.load(tiny_model_dir, device="cpu").precision
    assert summary["notes_by_precision"] == {precision: summary["notes_tagged"]}
    assert f"encoder precision: {precision} ({summary['notes_tagged']:,} notes)" in format_summary(summary, str(out))
    rejects = read_dir(out, "rejects")
    assert rejects.schema.equals(REJECT_SCHEMA)
    assert set(rejects.column_names) == {"note_id", "reason", "source_file"}


def test_rerun_replaces_output_and_is_deterministic(tmp_path, tiny_model_dir):
    notes = write_notes(
        tmp_path / "n.parquet", [{"note_id": f"n{i}", "text": f"pneumonia {i} amoxicillin"} for i in range(30)]
    )
    out = tmp_path / "out"
    run(["--input", str(notes), "--output", str(out), "--model", str(tiny_model_dir), *RUNNER], handler=FakeHandler())
    first = sorted(read_dir(out, "entities").to_pylist(), key=lambda r: r["entity_id"])
    (out / "entities-99999-of-99999.parquet").write_bytes(b"stale from an older run")
    run(["--input", str(notes), "--output", str(out), "--model", str(tiny_model_dir), *RUNNER], handler=FakeHandler())
    assert not (out / "entities-99999-of-99999.parquet").exists()
    second = sorted(read_dir(out, "entities").to_pylist(), key=lambda r: r["entity_id"])
    assert first == second and len(first) == 60
    assert not list(tmp_path.glob("out.staging-*")) and not list(tmp_path.glob("out.old-*"))


def test_hard_cases_long_note_unicode_crlf(tiny_model_dir, tmp_path):
    long_text = "Stable. " * 20000 + "pneumonia"
    rows = [
        {"note_id": "long", "text": long_text},
        {"note_id": "odd", "text": "e\u0301te\u0301 pneumonia\u00a0😀 amoxicillin\r\nnext\u200bline 肺炎\x00pneumonia"},
    ]
    notes = write_notes(tmp_path / "n.parquet", rows)
    out = tmp_path / "fake"
    summary = run(
        ["--input", str(notes), "--output", str(out), "--model", str(tiny_model_dir), *RUNNER], handler=FakeHandler()
    )
    entities = read_dir(out, "entities").to_pylist()
    assert any(e["note_id"] == "long" and e["end_char"] == len(long_text) for e in entities)
    assert summary["notes_tagged"] == 2
    out2 = tmp_path / "tiny"
    summary = run(["--input", str(notes), "--output", str(out2), "--model", str(tiny_model_dir), *RUNNER])
    assert summary["notes_tagged"] == 2 and summary["windows"] > 100  # the long note is windowed, not truncated
    check_offsets(read_dir(out2, "entities"), {r["note_id"]: r["text"] for r in rows})


def test_wrong_schema_file_is_refused_before_anything_runs_with_every_fault_named(tmp_path, capsys):
    good = write_notes(tmp_path / "good.parquet", [{"note_id": "a", "text": "pneumonia"}])
    bad = write_notes(
        tmp_path / "bad.parquet",
        [{"note_id": 1.5, "body": "x"}],
        pa.schema([("note_id", pa.float64()), ("body", pa.string())]),
    )
    out = tmp_path / "out"
    assert main(["--input", str(good), "--input", str(bad), "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {bad}: column 'note_id' has type double, expected string or integer; missing required column 'text' "
        "(the file has columns note_id: double, body: string)"
    )
    assert not out.exists() and not list(tmp_path.glob("out.*"))


def test_integer_ids_and_mapped_column_names(tmp_path):
    schema = pa.schema([("ROW_ID", pa.int64()), ("TEXT", pa.large_string()), ("patient_id", pa.string())])
    notes = write_notes(
        tmp_path / "mimic.parquet",
        [
            {"ROW_ID": 17, "TEXT": "pneumonia and amoxicillin", "patient_id": "P1"},
            {"ROW_ID": None, "TEXT": "sepsis", "patient_id": "P2"},
            {"ROW_ID": 17, "TEXT": "pneumonia and amoxicillin", "patient_id": "P1"},
        ],
        schema,
    )
    out = tmp_path / "out"
    summary = run(
        [
            "--input",
            str(notes),
            "--output",
            str(out),
            "--id-column",
            "ROW_ID",
            "--text-column",
            "TEXT",
            "--passthrough",
            "patient_id",
            *RUNNER,
        ],
        handler=FakeHandler(),
    )
    assert (summary["notes_tagged"], summary["rejects_by_reason"]) == (1, {"duplicate_note_id": 1, "null_note_id": 1})
    entities = read_dir(out, "entities").to_pylist()
    assert {(e["note_id"], e["text"], e["patient_id"]) for e in entities} == {
        ("17", "pneumonia", "P1"),
        ("17", "amoxicillin", "P1"),
    }
    with pytest.raises(SchemaError, match="missing required column 'text'"):
        run(["--input", str(notes), "--output", str(tmp_path / "o2"), "--id-column", "ROW_ID", *RUNNER])


def test_empty_glob_bad_model_and_foreign_output_are_clear_errors(tmp_path, capsys, tiny_model_dir):
    assert main(["--input", str(tmp_path / "nothing-*.parquet"), "--output", str(tmp_path / "o")]) == 2
    assert "no input file matches" in capsys.readouterr().err
    good = write_notes(tmp_path / "good.parquet", [{"note_id": "a", "text": "pneumonia"}])
    assert main(["--input", str(good), "--output", str(tmp_path / "o"), "--model", str(tmp_path / "no-model")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: model folder not found") and "Traceback" not in err
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.docx").write_text("precious")
    assert main(["--input", str(good), "--output", str(home), "--model", str(tiny_model_dir)]) == 2
    assert "did not write" in capsys.readouterr().err and (home / "thesis.docx").exists()
    not_parquet = tmp_path / "x.parquet"
    not_parquet.write_text("not parquet")
    with pytest.raises(SchemaError, match="not a readable Parquet file"):
        run(["--input", str(not_parquet), "--output", str(tmp_path / "o2")])


def test_no_note_text_in_logs_rejects_or_summary(tmp_path, caplog, capfd, tiny_model_dir):
    canary = "CANARY7f3e"
    rows = [
        {"note_id": "tagged", "text": f"pneumonia {canary} amoxicillin"},
        {"note_id": "toolong", "text": f"{canary} " * 100},
        {"note_id": "boom", "text": f"{BOOM} {canary} pneumonia"},
        {"note_id": "dup", "text": f"{canary} one"},
        {"note_id": "dup", "text": f"{canary} two"},
    ]
    notes = write_notes(tmp_path / "n.parquet", rows)
    out = tmp_path / "out"
    caplog.set_level(logging.DEBUG)
    summary = run(
        [
            "--input",
            str(notes),
            "--output",
            str(out),
            "--max-note-chars",
            "200",
            "--max-failed-fraction",
            "0.5",
            "--model",
            str(tiny_model_dir),
            *RUNNER,
        ],
        handler=FakeHandler(),
    )
    assert summary["notes_rejected"] == 4 and summary["notes_tagged"] == 1
    captured = capfd.readouterr()
    assert canary not in caplog.text and canary not in captured.out and canary not in captured.err
    assert "boom" in caplog.text  # the failing note is logged by id
    assert canary not in str(read_dir(out, "rejects").to_pylist())
    assert canary not in (out / "summary.json").read_text()


def test_entity_schema_is_the_base_schema_without_passthrough():
    assert entity_schema().equals(ENTITY_BASE_SCHEMA)


def test_entity_rows_carry_context_and_summary_counts_negation(tmp_path):
    notes = write_notes(
        tmp_path / "notes.parquet",
        [
            {"note_id": "a", "text": "No evidence of pneumonia. Started amoxicillin."},
            {"note_id": "b", "text": "PAST MEDICAL HISTORY: Sepsis.\nFAMILY HISTORY: Mother had pneumonia."},
        ],
    )
    out = tmp_path / "out"
    summary = run(["--input", str(notes), "--output", str(out), *RUNNER], handler=FakeHandler())
    rows = {(r["note_id"], r["text"]): r for r in read_dir(out, "entities").to_pylist()}
    context = {key: (r["negation"], r["temporality"], r["experiencer"], r["section"]) for key, r in rows.items()}
    assert context == {
        ("a", "pneumonia"): ("negated", "recent", "patient", None),
        ("a", "amoxicillin"): ("affirmed", "recent", "patient", None),
        ("b", "Sepsis"): ("affirmed", "historical", "patient", "past_medical_history"),
        ("b", "pneumonia"): ("affirmed", "historical", "other", "family_history"),
    }
    assert summary["entities_by_negation"] == {"affirmed": 3, "negated": 1}
    assert "entities by negation" in format_summary(summary, str(out))


def worker_tagger(args):
    """The job's config for ``args`` and the tagger its handler loads on a worker."""
    from beam_jobs.pipeline import make_handler
    from job_core.config import parse_args
    from job_core.launch import inspect_model

    config, _ = parse_args(args)
    return config, make_handler(config, inspect_model(config.model).version).load_model()


def test_no_context_leaves_the_columns_null(tmp_path, tiny_model_dir):
    notes = write_notes(tmp_path / "notes.parquet", [{"note_id": "a", "text": "No pneumonia."}])
    args = ["--input", str(notes), "--output", str(tmp_path / "out"), "--model", str(tiny_model_dir), "--no-context"]
    config, tagger = worker_tagger(args)
    assert config.context is False and tagger.context is None
    summary = run([*args, *RUNNER], handler=FakeHandler(context=False))
    entities = read_dir(tmp_path / "out", "entities").to_pylist()
    assert len(entities) == 1
    assert [entities[0][c] for c in ("negation", "temporality", "experiencer", "section")] == [None] * 4
    assert summary["entities_by_negation"] == {"not_computed": 1}


def test_job_writes_ranked_icd10cm_codes_for_disease_entities(tmp_path, tiny_model_dir):
    import simple_icd_10_cm as icd

    texts = ["Sepsis and pneumonia, given amoxicillin.", "No pneumonia.", "History of sepsis."]
    notes = write_notes(tmp_path / "notes.parquet", [{"note_id": f"n{i}", "text": t} for i, t in enumerate(texts)])
    out = tmp_path / "out"
    summary = run(
        ["--input", str(notes), "--output", str(out), "--model", str(tiny_model_dir), *RUNNER],
        handler=FakeHandler(codes=True, codes_k=3),
    )
    entities = read_dir(out, "entities").to_pylist()
    codes = read_dir(out, "codes")
    assert codes.schema.equals(CODES_SCHEMA)
    diseases = [e for e in entities if e["entity_type"] == "Disease"]
    assert len(diseases) == 4 and all(icd.is_valid_item(e["icd10cm_code"]) for e in diseases)
    assert {e["icd10cm_code"][:3] for e in diseases if e["text"].lower() == "sepsis"} == {"A41"}
    assert {e["icd10cm_code"][:3] for e in diseases if e["text"].lower() == "pneumonia"} == {"J18"}
    assert all(
        e["icd10cm_code"] is None and e["icd10cm_score"] is None for e in entities if e["entity_type"] != "Disease"
    )
    rows = codes.to_pylist()
    assert len(rows) == 3 * len(diseases) and {r["entity_id"] for r in rows} == {e["entity_id"] for e in diseases}
    top = {r["entity_id"]: r for r in rows if r["rank"] == 1}
    assert all(top[e["entity_id"]]["code"] == e["icd10cm_code"] for e in diseases)
    assert all(r["billable"] == icd.is_leaf(r["code"]) and 0.0 <= r["score"] <= 1.0 for r in rows)
    assert summary["entities_with_code"] == len(diseases)
    # The note-level table: note 0's affirmed sepsis and pneumonia, note 2's historical sepsis
    # (flagged); note 1's negated pneumonia gives no row.
    note_codes = {(r["note_id"], r["icd10cm_code"][:3]): r for r in read_dir(out, "note_codes").to_pylist()}
    assert set(note_codes) == {("n0", "A41"), ("n0", "J18"), ("n2", "A41")}
    assert note_codes[("n2", "A41")]["historical_mentions"] == 1 and note_codes[("n0", "J18")]["mentions"] == 1
    by_id = {e["entity_id"]: e for e in entities}
    assert all(by_id[i]["note_id"] == key[0] for key, r in note_codes.items() for i in r["entity_ids"])


def test_codes_k_reaches_the_worker_linker(tmp_path, tiny_model_dir):
    _, tagger = worker_tagger(
        ["--input", "x.parquet", "--output", str(tmp_path / "out"), "--model", str(tiny_model_dir), "--codes-k", "3"]
    )
    assert tagger.linker.k == 3 and len(tagger.linker.link("Sepsis.", [(0, 6)])[0]) == 3


def test_no_codes_turns_linking_off(tmp_path, tiny_model_dir):
    notes = write_notes(tmp_path / "notes.parquet", [{"note_id": "a", "text": "Sepsis."}])
    args = ["--input", str(notes), "--output", str(tmp_path / "out"), "--model", str(tiny_model_dir), "--no-codes"]
    config, tagger = worker_tagger(args)
    assert config.codes is False and tagger.linker is None
    summary = run([*args, *RUNNER], handler=FakeHandler(codes=False))
    (entity,) = read_dir(tmp_path / "out", "entities").to_pylist()
    assert entity["icd10cm_code"] is None and read_dir(tmp_path / "out", "codes").num_rows == 0
    assert summary["entities_with_code"] == 0


def test_a_bad_code_index_fails_before_the_pipeline(tmp_path, tiny_model_dir):
    notes = write_notes(tmp_path / "notes.parquet", [{"note_id": "a", "text": "Sepsis."}])
    assert (
        main(
            [
                "--input",
                str(notes),
                "--output",
                str(tmp_path / "out"),
                "--model",
                str(tiny_model_dir),
                "--code-index",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert not (tmp_path / "out").exists()
