import pytest

from nercore.evaluation.metrics import Evaluation, Scores, strict_scores


def test_strict_scores_by_hand():
    gold = [[("Disease", 0, 5), ("Chemical", 10, 15), ("Disease", 20, 25)], [("Chemical", 0, 3)]]
    pred = [[("Disease", 0, 5), ("Chemical", 10, 14), ("Chemical", 20, 25)], [("Chemical", 0, 3), ("Disease", 5, 9)]]
    s = strict_scores(gold, pred)
    # tp: Disease(0,5), Chemical(0,3) → 2; predicted 5; gold 4
    assert s.overall.precision == pytest.approx(2 / 5)
    assert s.overall.recall == pytest.approx(2 / 4)
    assert s.overall.f1 == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    assert s.overall.support == 4
    # Disease: tp 1, pred 2, gold 2; Chemical: tp 1, pred 3, gold 2
    assert s.per_type["Disease"].f1 == pytest.approx(0.5)
    assert s.per_type["Chemical"].precision == pytest.approx(1 / 3)
    assert s.per_type["Chemical"].recall == pytest.approx(1 / 2)
    only = strict_scores(gold, pred, types=["Disease"])
    assert only.overall.f1 == pytest.approx(0.5)
    assert set(only.per_type) == {"Disease"}
    with pytest.raises(ValueError, match="expected as many"):
        strict_scores(gold, pred[:1])


def test_evaluation_round_trips_through_its_json_form():
    gold = [[("Disease", 0, 5)], [("Chemical", 0, 3)]]
    pred = [[("Disease", 0, 5)], [("Chemical", 1, 3)]]
    result = strict_scores(gold, pred)
    data = result.as_dict()
    assert data["overall"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert set(data["per_type"]) == {"Chemical", "Disease"}
    assert Evaluation.from_dict(data) == result
    assert [name for name, _ in result.rows()] == ["Chemical", "Disease", "overall"]
    assert result.per_type["Chemical"] == Scores(precision=0.0, recall=0.0, f1=0.0, support=1)
