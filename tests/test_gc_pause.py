"""``paused_gc``: the collector is off inside the block and back as it was after it."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from nercore import entity_columns
from nercore.entity_columns import EntityColumns
from nercore.gc_pause import paused_gc


@pytest.fixture(autouse=True)
def collector_enabled():
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_off_inside_and_on_again_after():
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_exception_inside_still_turns_it_back_on():
    with pytest.raises(KeyError), paused_gc():
        raise KeyError("x")
    assert gc.isenabled()


def test_a_collector_disabled_on_entry_stays_disabled():
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_as_a_decorator_each_call_pauses_it():
    @paused_gc()
    def inside():
        return gc.isenabled()

    assert [inside(), gc.isenabled(), inside(), gc.isenabled()] == [False, True, False, True]


def test_an_inner_block_leaves_the_collector_to_the_outer_one():
    with paused_gc():
        with paused_gc():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_entities_are_built_with_the_collector_paused(monkeypatch):
    built = []

    def entity(**fields):
        built.append(gc.isenabled())
        return fields

    monkeypatch.setattr(entity_columns, "Entity", entity)
    columns = EntityColumns(
        texts=2,
        text=np.array([0, 1]),
        entity_type=["Disease", "Chemical"],
        start_char=np.array([0, 2]),
        end_char=np.array([1, 3]),
        score=np.array([0.5, 0.25]),
    )
    entities = columns.entities(["ab", "cdef"])
    assert [[e["text"] for e in per_text] for per_text in entities] == [["a"], ["e"]]
    assert built == [False, False]
    assert gc.isenabled()
