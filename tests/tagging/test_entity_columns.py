"""Entities as columns: slicing, joining and the round trip through ``Entity`` objects."""

from __future__ import annotations

import numpy as np
import pytest

from nercore import Tagger
from nercore.entity import Entity
from nercore.entity_columns import EntityColumns, concat_columns
from nercore.tagging.results import TaggedTexts, concat_tagged

TEXTS = [
    "No history of pneumonia. Past Medical History: diabetes mellitus, sepsis.",
    "",
    "Mother with sepsis; denies fever.",
    "pneumonia pneumonia pneumonia",
    "nothing here",
    "Possible pneumonia; no sepsis.",
]


@pytest.fixture(scope="module")
def tagged(tiny_model_dir):
    tagger = Tagger.load(tiny_model_dir, device="cpu", codes=True)
    return tagger.tag_columns(TEXTS)


def test_the_round_trip_through_entities_keeps_every_field(tagged):
    entities = tagged.columns.entities(TEXTS)
    assert sum(map(len, entities)) == len(tagged.columns) > 10
    again = EntityColumns.from_entities(entities, context=True, linked=True)
    assert again.entities(TEXTS) == entities
    assert again.counts().tolist() == tagged.columns.counts().tolist()
    assert again.score.tolist() == tagged.columns.score.tolist()


def test_slices_of_texts_join_back_into_the_whole(tagged):
    entities = tagged.columns.entities(TEXTS)
    parts = [tagged.slice(0, 2), tagged.slice(2, 3), tagged.slice(3, 6)]
    assert parts[2].columns.entities(TEXTS[3:]) == entities[3:]
    assert parts[2].tokens.tolist() == tagged.tokens[3:].tolist()
    whole = concat_tagged(parts)
    assert whole.columns.entities(TEXTS) == entities
    assert whole.windows.tolist() == tagged.windows.tolist()
    assert tagged.slice(1, 2).columns.texts == 1 and len(tagged.slice(1, 2).columns) == 0  # the empty text


def test_rows_pick_entities_of_the_same_texts(tagged):
    columns = tagged.columns
    rows = np.flatnonzero(np.array([t == "Disease" for t in columns.entity_type]))
    picked = columns.slice_rows(rows)
    assert picked.texts == columns.texts
    expected = [[e for e in es if e.entity_type == "Disease"] for es in columns.entities(TEXTS)]
    assert picked.entities(TEXTS) == expected


def test_empty_results_and_mixed_parts():
    empty = TaggedTexts.empty(3, context=True, linked=False, precision="float32", model_version="v")
    assert len(empty) == 3 and len(empty.columns) == 0 and empty.columns.entities(["a", "b", "c"]) == [[], [], []]
    plain = EntityColumns.from_entities([[]], context=False, linked=False)
    with pytest.raises(ValueError, match="expected context in all parts or in none"):
        concat_columns([empty.columns, plain])
    unset = Entity(entity_type="Disease", start_char=0, end_char=1, text="x", score=0.5)
    with pytest.raises(ValueError, match="expected negation in affirmed, negated, possible, got None"):
        EntityColumns.from_entities([[unset]], context=True, linked=False)
    with pytest.raises(ValueError, match="expected columns of 2 entities"):
        EntityColumns(
            texts=1,
            text=np.zeros(2, dtype=np.int64),
            entity_type=["Disease"],
            start_char=np.zeros(2, dtype=np.int64),
            end_char=np.ones(2, dtype=np.int64),
            score=np.ones(2),
        )


def test_no_texts_give_no_results(tiny_model_dir):
    tagger = Tagger.load(tiny_model_dir, device="cpu")
    assert tagger.tag([]) == [] and tagger.tag_detailed([]) == []
    nothing = tagger.tag_columns([])
    assert len(nothing) == 0 and nothing.columns.texts == 0 and len(nothing.columns) == 0
