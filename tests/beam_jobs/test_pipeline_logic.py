"""TagNotes' routing with TestPipeline, assert_that and a fake tagger."""

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beam_jobs.pipeline import TagNotes
from job_core.note_batch import batches_from_rows
from job_core.rows import entity_id
from job_core.summary import merge_counts
from tests.fakes import BOOM, FakeHandler


def row(note_id, text, i, source="a.parquet", passthrough=("P1",)):
    return {"note_id": note_id, "text": text, "passthrough": passthrough, "source_file": source, "row": i}


ROWS = [
    row("n1", "Pneumonia treated with amoxicillin.", 0),
    row("n2", None, 1),
    row("n3", "", 2),
    row("n4", " \r\n\t", 3),
    row(None, "sepsis", 4),
    row("n5", "x" * 50, 5),
    row("n6", "sepsis again", 6),
    row("n6", "sepsis again", 0, source="b.parquet"),
    row("n7", "first version: pneumonia", 7),
    row("n7", "second version", 8),
    row("n8", f"{BOOM} with pneumonia", 9),
    row("n9", "no findings", 10),
]


ITEMS = [ROWS[:5], ROWS[5:9], ROWS[9:]]  # work items: here, lists of rows (read_batches=batches_from_rows)


def test_rows_are_routed_to_entities_or_rejects_with_reasons():
    with BeamTestPipeline(runner="FnApiRunner") as p:
        out = (
            p | beam.Create(ITEMS) | TagNotes(FakeHandler(), 40, ["patient_id"], "fake", read_batches=batches_from_rows)
        )
        rejects = out["rejects"] | beam.Map(lambda r: (r["note_id"], r["reason"], r["source_file"]))
        assert_that(
            rejects,
            equal_to(
                [
                    ("n2", "null_text", "a.parquet"),
                    ("n3", "empty_text", "a.parquet"),
                    ("n4", "blank_text", "a.parquet"),
                    (None, "null_note_id", "a.parquet"),
                    ("n5", "text_too_long:>40", "a.parquet"),
                    ("n6", "duplicate_note_id", "b.parquet"),
                    ("n7", "conflicting_duplicate_note_id", "a.parquet"),
                    ("n7", "conflicting_duplicate_note_id", "a.parquet"),
                    ("n8", "inference_failed:RuntimeError", "a.parquet"),
                ]
            ),
            label="rejects",
        )
        entities = (
            out["entities"]
            | beam.FlatMap(lambda batch: batch.to_pylist())
            | beam.Map(
                lambda r: (
                    r["note_id"],
                    r["entity_type"],
                    r["start_char"],
                    r["end_char"],
                    r["text"],
                    r["patient_id"],
                    r["entity_id"],
                )
            )
        )
        assert_that(
            entities,
            equal_to(
                [
                    ("n1", "Disease", 0, 9, "Pneumonia", "P1", entity_id("n1", "Disease", 0, 9)),
                    ("n1", "Chemical", 23, 34, "amoxicillin", "P1", entity_id("n1", "Chemical", 23, 34)),
                    ("n6", "Disease", 0, 6, "sepsis", "P1", entity_id("n6", "Disease", 0, 6)),
                ]
            ),
            label="entities",
        )
        counts = out["counts"] | beam.Map(
            lambda c: (c["notes_read"], c["notes_tagged"], c["notes_rejected"], c["entities"], c["entities_by_type"])
        )
        assert_that(counts, equal_to([(12, 3, 9, 3, {"Disease": 2, "Chemical": 1})]), label="counts")


def test_entity_ids_are_deterministic_and_distinct():
    assert entity_id("n1", "Disease", 0, 9) == entity_id("n1", "Disease", 0, 9)
    assert (
        len(
            {
                entity_id("n1", "Disease", 0, 9),
                entity_id("n1", "Chemical", 0, 9),
                entity_id("n1", "Disease", 0, 8),
                entity_id("n2", "Disease", 0, 9),
            }
        )
        == 4
    )


def test_merge_counts_sums_nested_dicts():
    assert merge_counts({"a": 1, "t": {"x": 1}}, {"a": 2, "t": {"x": 1, "y": 3}, "b": 1}) == {
        "a": 3,
        "t": {"x": 2, "y": 3},
        "b": 1,
    }


def test_counts_are_also_beam_metrics_in_one_namespace():
    from apache_beam.metrics.metric import MetricsFilter

    from beam_jobs.handler import METRICS_NAMESPACE

    p = BeamTestPipeline(runner="FnApiRunner")
    _ = p | beam.Create(ITEMS) | TagNotes(FakeHandler(), 40, ["patient_id"], "fake", read_batches=batches_from_rows)
    result = p.run()
    result.wait_until_finish()
    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace(METRICS_NAMESPACE))["counters"]
    }
    assert counters["notes_read"] == 12
    assert counters["notes_tagged"] == 3
    assert counters["notes_rejected"] == 9
    assert counters["entities"] == 3
    assert counters["entities_Disease"] == 2 and counters["entities_Chemical"] == 1
    assert counters["notes_tagged"] + counters["notes_rejected"] == counters["notes_read"]


def test_inference_batches_are_filled_to_max_batch_chars():
    from beam_jobs.handler import TaggerModelHandler, batch_size

    kwargs = TaggerModelHandler(None, max_batch_chars=123_456).batch_elements_kwargs()
    assert kwargs["min_batch_size"] == kwargs["max_batch_size"] == 123_456
    assert kwargs["element_size_fn"] is batch_size
    (batch,) = batches_from_rows([row("a", "abc", 0), row("b", "de", 1), row("c", None, 2)])
    assert batch_size(batch) == 3 + 2 + 3
