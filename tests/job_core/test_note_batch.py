"""NoteBatch: the columns the job passes from reading to writing, without a dict per note."""

import datetime

import pyarrow as pa
import pytest

from job_core.note_batch import NoteBatch, batches_from_rows
from job_core.notes import batch_faults, row_keys
from job_core.rows import TableColumns, add_entities, entity_id
from job_core.tags import BatchTags
from nercore.entity import Entity
from nercore.tagging.tagger import TagResult
from schemas import CODES_SCHEMA, entity_schema
from tests.fakes import BOOM, FakeHandler, FakeTagger


def batch(texts, source="a.parquet", passthrough=()):
    n = len(texts)
    return NoteBatch(source, list(range(10, 10 + n)), [f"n{i}" for i in range(n)], list(texts), tuple(passthrough))


def test_columns_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="expected columns of 2 rows"):
        NoteBatch("a.parquet", [0, 1], ["a", "b"], ["x"])
    with pytest.raises(ValueError, match="expected columns of 2 rows"):
        NoteBatch("a.parquet", [0, 1], ["a", "b"], ["x", "y"], (pa.array([1, 2, 3]),))


def test_split_keeps_order_and_cuts_by_characters():
    notes = batch(["a" * 5, "b" * 5, "c" * 30, "d" * 2, "e" * 2, "f" * 9], passthrough=[pa.array([0, 1, 2, 3, 4, 5])])
    keep = [0, 1, 2, 3, 5]  # row 4 was rejected
    parts = list(notes.split(keep, max_chars=14))
    # weights (chars + 1): 6, 6, 31, 3, 10. A part closes before a row that would pass 14; the
    # 31-character row is longer than the limit and goes alone.
    assert [p.rows for p in parts] == [[10, 11], [12], [13, 15]]
    assert [p.texts for p in parts] == [["aaaaa", "bbbbb"], ["c" * 30], ["dd", "f" * 9]]
    assert [p.passthrough[0].to_pylist() for p in parts] == [[0, 1], [2], [3, 5]]
    assert [p.note_ids for p in parts] == [["n0", "n1"], ["n2"], ["n3", "n5"]]
    assert list(notes.split([], max_chars=14)) == []


def test_checks_and_keys_come_from_the_columns():
    rows = [
        {"note_id": "n1", "text": "fine", "passthrough": ("P1",), "source_file": "a.parquet", "row": 0},
        {"note_id": " ", "text": "fine", "passthrough": ("P1",), "source_file": "a.parquet", "row": 1},
        {"note_id": "n3", "text": "\u2003\n", "passthrough": ("P2",), "source_file": "a.parquet", "row": 2},
        {"note_id": "n4", "text": "also fine", "passthrough": ("P2",), "source_file": "b.parquet", "row": 0},
    ]
    first, second = batches_from_rows(rows)
    assert (first.source_file, first.rows, second.source_file, second.rows) == (
        "a.parquet",
        [0, 1, 2],
        "b.parquet",
        [0],
    )
    assert batch_faults(first, 100) == [None, "empty_note_id", "blank_text"]
    assert first.passthrough_values() == [("P1",), ("P1",), ("P2",)]
    keys = list(row_keys(first, 100))
    assert [(note_id, rest[1:]) for note_id, rest in keys] == [("n1", ("a.parquet", 0))]
    other = NoteBatch("a.parquet", [0], ["n1"], ["fine"], (pa.array(["P9"]),))
    assert next(row_keys(other, 100))[1][0] != keys[0][1][0]  # another passthrough value, another hash


def test_passthrough_values_reach_the_entity_table_with_their_arrow_type():
    when = pa.array(
        [datetime.datetime(2026, 1, 1, 8, 30), None, datetime.datetime(2026, 3, 1)], type=pa.timestamp("us", tz="UTC")
    )
    size = pa.array([1.5, 2.5, None], type=pa.float32())
    notes = batch(["pneumonia", "nothing", "pneumonia and sepsis"], passthrough=[when, size])
    schema = entity_schema([pa.field("seen_at", when.type), pa.field("size", size.type)])
    results = [
        TagResult(
            entities=[Entity(entity_type="Disease", start_char=0, end_char=9, text="pneumonia", score=0.9)],
            windows=1,
            tokens=1,
            precision="float32",
            model_version="v1",
        ),
        "inference_failed:RuntimeError",
        TagResult(
            entities=[
                Entity(entity_type="Disease", start_char=0, end_char=9, text="pneumonia", score=0.8),
                Entity(entity_type="Disease", start_char=14, end_char=20, text="sepsis", score=0.7),
            ],
            windows=1,
            tokens=3,
            precision="float32",
            model_version="v1",
        ),
    ]
    out, codes = TableColumns(schema, ("seen_at", "size")), TableColumns(CODES_SCHEMA)
    tags = BatchTags.from_results(results, context=False, linked=False)
    assert add_entities(out, codes, notes, tags, ("seen_at", "size"), "model", "0.1") == 0
    table = out.take()
    assert table.schema == schema
    assert table.column("note_id").to_pylist() == ["n0", "n2", "n2"]
    assert table.column("seen_at").equals(when.take(pa.array([0, 2, 2])))
    assert table.column("size").to_pylist() == [1.5, None, None]
    assert table.column("entity_id").to_pylist() == [
        entity_id("n0", "Disease", 0, 9),
        entity_id("n2", "Disease", 0, 9),
        entity_id("n2", "Disease", 14, 20),
    ]
    assert len(out) == 0 and out.take().num_rows == 0  # taken out: the columns start again empty


def mentions(notes, tags) -> list:
    """Each note's failure, or the texts of its entities."""
    per_note = tags.tagged.columns.entities(notes.texts)
    return [failure or [e.text for e in entities] for failure, entities in zip(tags.failures, per_note)]


def test_the_handler_tags_all_batches_in_one_call_and_gives_each_its_results():
    handler, tagger = FakeHandler(context=False), FakeTagger(context=False)
    first, second = batch(["pneumonia", "no"]), batch(["sepsis here"], source="b.parquet")
    (a, ra), (b, rb) = handler.run_inference([first, second], tagger)
    assert (a, b) == (first, second)
    assert mentions(a, ra) + mentions(b, rb) == [["pneumonia"], [], ["sepsis"]]
    assert ra.tagged.tokens.tolist() + rb.tagged.tokens.tolist() == [1, 1, 2]


def test_a_failing_call_is_retried_note_by_note():
    handler, tagger = FakeHandler(context=False), FakeTagger(context=False)
    first, second = batch(["pneumonia", f"{BOOM} here"]), batch(["sepsis"], source="b.parquet")
    (a, ra), (b, rb) = handler.run_inference([first, second], tagger)
    assert ra.tagged.tokens.tolist() == [1, 0]  # the failed note: no sub-words counted
    assert mentions(a, ra) + mentions(b, rb) == [
        ["pneumonia"],
        "inference_failed:RuntimeError",
        ["sepsis"],
    ]
