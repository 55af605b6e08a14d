"""The three-stage overlap of ``Tagger.tag_detailed``: order kept, threads used, errors raised."""

from __future__ import annotations

import threading

import pytest

from nercore.tagging.overlap import overlapped


def test_results_keep_chunk_order_and_stages_run_on_their_threads():
    seen: dict[str, set[str]] = {"prepare": set(), "run": set(), "finish": set()}

    def prepare(chunk):
        seen["prepare"].add(threading.current_thread().name)
        return [x * 10 for x in chunk]

    def run(prepared):
        seen["run"].add(threading.current_thread().name)
        return sum(prepared)

    def finish(chunk, prepared, total):
        seen["finish"].add(threading.current_thread().name)
        return [(chunk, prepared, total)]

    chunks = [[1], [2, 3], [4], [5, 6, 7]]
    assert overlapped(chunks, prepare, run, finish) == [
        ([1], [10], 10),
        ([2, 3], [20, 30], 50),
        ([4], [40], 40),
        ([5, 6, 7], [50, 60, 70], 180),
    ]
    assert seen["run"] == {threading.current_thread().name}
    assert len(seen["prepare"]) == len(seen["finish"]) == 1
    assert seen["prepare"].pop().startswith("nercore-prepare") and seen["finish"].pop().startswith("nercore-finish")
    assert overlapped([], prepare, run, finish) == []


@pytest.mark.parametrize("stage", ["prepare", "run", "finish"])
def test_an_error_in_any_stage_is_raised(stage):
    def fails(name):
        def call(*args):
            if name == stage and args[0] == [3]:
                raise ValueError(f"{name} failed")
            return args[-1] if name != "finish" else [args[-1]]

        return call

    with pytest.raises(ValueError, match=f"{stage} failed"):
        overlapped([[1], [2], [3], [4]], fails("prepare"), fails("run"), fails("finish"))
