"""The drift check's arithmetic: relative changes, flags, and the one line that stops a publish."""

from __future__ import annotations

import math

from job_core.drift import compare, comparison_record, drift_problem, relative_change
from job_core.run_stats import RunStats, rates
from job_core.tags import BatchTags
from nercore.entity import Entity
from nercore.tagging.tagger import TagResult


def test_relative_changes_and_flags():
    assert relative_change(2.0, 3.0) == 0.5 and relative_change(0.0, 0.0) == 0.0
    assert math.isinf(relative_change(0.0, 1.0)) and relative_change(None, 1.0) is None
    changes = {c.name: c for c in compare({"a": 1.2, "b": 1.0, "c": 0.5}, {"a": 1.0, "b": 2.0, "d": 0.1}, 0.3)}
    assert not changes["a"].flagged and changes["b"].flagged and changes["b"].relative == -0.5
    assert changes["c"].flagged and changes["c"].previous is None  # appeared
    assert changes["d"].flagged and changes["d"].current is None  # gone
    record = comparison_record(
        list(changes.values()), previous_run="r1", model_changed=False, tolerance=0.3, accepted=False
    )
    assert record["flagged"] == ["b", "c", "d"]


def test_the_drift_line_names_the_worst_rate_and_both_values():
    changes = compare({"x": 1.0, "y": 0.1}, {"x": 1.1, "y": 1.0}, 0.3)
    line = drift_problem(changes, 0.3, model_changed=True)
    assert line.startswith("drift beyond --max-drift 0.3: y moved from 1 to 0.1 (-90%)")
    assert "the model version changed" in line and "previous output is unchanged" in line
    assert drift_problem(changes, 0.95, model_changed=False) is None


def test_run_stats_add_up_and_give_rates():
    def entity(kind, score, **context):
        return Entity(entity_type=kind, start_char=0, end_char=1, text="x", score=score, **context)

    full = {"negation": "affirmed", "experiencer": "patient", "temporality": "recent"}
    stats = RunStats()
    texts = ["a" * 1000, "b" * 500, "c"]
    results = [
        TagResult(
            entities=[
                entity("Disease", 0.9, **{**full, "negation": "negated"}, icd10cm_code="J18.9", icd10cm_score=0.8),
                entity("Chemical", 0.5, **full),
            ],
            windows=1,
            tokens=1,
        ),
        TagResult(
            entities=[
                entity(
                    "Disease",
                    0.7,
                    negation="affirmed",
                    experiencer="patient",
                    temporality="recent",
                    icd10cm_code="A41.9",
                    icd10cm_score=1.0,
                )
            ],
            windows=1,
            tokens=1,
        ),
        "inference_failed:RuntimeError",
    ]
    stats.add(texts, BatchTags.from_results(results, context=True, linked=True))
    record = stats.as_record()
    assert record["chars_tagged"] == 1500  # the failed note is not counted
    assert record["affirmed_patient_codes"] == {"A41.9": 1}  # the negated mention's code is left out
    assert record["density_bins"] == {"0": 2}  # 2 entities per 1,000 characters in both: the first bin of 5
    dense = RunStats()
    dense.add(
        ["d" * 100],
        BatchTags.from_results(
            [TagResult(entities=[entity("Disease", 0.5)] * 3, windows=1, tokens=1)], context=False, linked=False
        ),
    )
    assert dense.as_record()["density_bins"] == {"6": 1}  # 30 per 1,000 characters
    got = rates(record, notes_read=4, notes_rejected=1)
    assert got["Disease entities per 1,000 characters"] == 2 / 1.5
    assert abs(got["Disease mean score"] - 0.8) < 1e-9 and got["Disease coded share"] == 1.0
    assert got["negated share"] == 1 / 3 and got["reject rate"] == 0.25
