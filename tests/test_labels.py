import pytest

from nercore.labels import LabelSet, bio_spans, parse_tag, to_bio


def test_bioes_and_iob1_convert_to_bio():
    assert to_bio(["S-A", "B-A", "I-A", "E-A", "O", "I-B", "I-B", "B-B"]) == [
        "B-A",
        "B-A",
        "I-A",
        "I-A",
        "O",
        "B-B",
        "I-B",
        "B-B",
    ]
    assert to_bio(["I-A", "I-B", "I-B"]) == ["B-A", "B-B", "I-B"]


@pytest.mark.parametrize("tag", ["X-A", "B-", "B", "b-A", "", "I- A", "B_A"])
def test_malformed_tags_are_refused(tag):
    with pytest.raises(ValueError, match="expected a tag"):
        parse_tag(tag)


def test_spans_from_malformed_sequences():
    assert bio_spans(["O", "I-A", "I-A", "O"]) == [("A", 1, 3)]
    assert bio_spans(["B-A", "I-B", "I-B"]) == [("A", 0, 1), ("B", 1, 3)]
    assert bio_spans(["B-A", "B-A", "I-A"]) == [("A", 0, 1), ("A", 1, 3)]
    assert bio_spans(["I-A"]) == [("A", 0, 1)]
    assert bio_spans([]) == []


def test_label_set_order_and_round_trip():
    labels = LabelSet(["Chemical", "Disease"])
    assert labels.labels == ("O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease")
    assert LabelSet.from_labels(list(labels.labels)) == labels
    with pytest.raises(ValueError):
        LabelSet.from_labels(["O", "I-Chemical", "B-Chemical"])
    with pytest.raises(ValueError, match="expected one of"):
        labels.encode(["B-Gene"])
    allowed = labels.allowed_transitions()
    assert not allowed[0][2] and allowed[1][2] and not allowed[3][2] and allowed[2][1]
