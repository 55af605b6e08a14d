"""Tag schemes: parsing, conversion to BIO, repair, spans and allowed transitions.

Every model in this project predicts BIO tags. Training files may use BIO (IOB2), IOB1 or
BIOES; they are converted to BIO on reading.
"""

from __future__ import annotations

from collections.abc import Sequence

OUTSIDE = "O"
_PREFIXES = ("B", "I", "E", "S")


def parse_tag(tag: str) -> tuple[str, str | None]:
    """Split a tag into its prefix and entity type.

    Args:
        tag: ``"O"`` or ``"<P>-<Type>"`` with P one of B, I, E, S.

    Returns:
        ``("O", None)`` or ``(prefix, type)``.

    Raises:
        ValueError: if the tag is malformed.
    """
    if tag == OUTSIDE:
        return OUTSIDE, None
    prefix, sep, entity_type = tag.partition("-")
    if not sep or prefix not in _PREFIXES or not entity_type or entity_type.strip() != entity_type:
        raise ValueError(f"expected a tag 'O' or B-/I-/E-/S-<Type>, got {tag!r}")
    return prefix, entity_type


def to_bio(tags: Sequence[str]) -> list[str]:
    """Convert BIO, IOB1 or BIOES tags to BIO (IOB2).

    ``E-X`` becomes ``I-X``, ``S-X`` becomes ``B-X``, and an ``I-X`` that does not continue an
    entity of type X starts one (``B-X``), which is how IOB1 marks entity starts.

    Raises:
        ValueError: if a tag is malformed.
    """
    out: list[str] = []
    prev_type: str | None = None
    for tag in tags:
        prefix, entity_type = parse_tag(tag)
        if prefix == OUTSIDE:
            out.append(OUTSIDE)
        elif prefix in ("B", "S"):
            out.append(f"B-{entity_type}")
        elif prev_type == entity_type:  # I or E continuing the same type
            out.append(f"I-{entity_type}")
        else:
            out.append(f"B-{entity_type}")
        prev_type = None if prefix in (OUTSIDE, "E", "S") else entity_type
    return out


def bio_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entity spans of a BIO sequence, tolerant of malformed sequences.

    An ``I-X`` after ``O`` or after another type starts a new entity (the usual lenient
    reading). Spans are ``(type, start, end)`` with ``end`` exclusive, in order.
    """
    spans: list[tuple[str, int, int]] = []
    current: list | None = None  # [type, start]
    for i, tag in enumerate(tags):
        prefix, entity_type = parse_tag(tag)
        if prefix == OUTSIDE:
            if current is not None:
                spans.append((current[0], current[1], i))
                current = None
            continue
        if prefix == "B" or current is None or current[0] != entity_type:
            if current is not None:
                spans.append((current[0], current[1], i))
            current = [entity_type, i]
    if current is not None:
        spans.append((current[0], current[1], len(tags)))
    return spans


class LabelSet:
    """The ordered BIO labels of a set of entity types: ``O, B-T1, I-T1, B-T2, I-T2, ...``."""

    def __init__(self, entity_types: Sequence[str]):
        types = list(entity_types)
        if not types:
            raise ValueError("expected at least one entity type, got none")
        for t in types:
            parse_tag(f"B-{t}")
        if len(set(types)) != len(types):
            raise ValueError(f"expected distinct entity types, got {types}")
        self.entity_types: tuple[str, ...] = tuple(types)
        self.labels: tuple[str, ...] = (OUTSIDE,) + tuple(f"{p}-{t}" for t in types for p in ("B", "I"))
        self.index: dict[str, int] = {label: i for i, label in enumerate(self.labels)}

    @classmethod
    def from_labels(cls, labels: Sequence[str]) -> LabelSet:
        """Rebuild a label set from its saved label list, checking the order."""
        types = [parse_tag(lab)[1] for lab in labels if lab != OUTSIDE and lab.startswith("B-")]
        label_set = cls(types)
        if tuple(labels) != label_set.labels:
            raise ValueError(f"expected labels {list(label_set.labels)}, got {list(labels)}")
        return label_set

    def __len__(self) -> int:
        return len(self.labels)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelSet) and other.labels == self.labels

    def encode(self, tags: Sequence[str]) -> list[int]:
        """Label ids of BIO tags; raises ValueError for a tag outside the set."""
        try:
            return [self.index[t] for t in tags]
        except KeyError as err:
            raise ValueError(f"expected one of {list(self.labels)}, got {err.args[0]!r}") from None

    def decode(self, ids: Sequence[int]) -> list[str]:
        return [self.labels[i] for i in ids]

    def allowed_transitions(self) -> list[list[bool]]:
        """``allowed[i][j]``: may label j follow label i in valid BIO?"""
        n = len(self.labels)
        allowed = [[True] * n for _ in range(n)]
        for j, to_label in enumerate(self.labels):
            if not to_label.startswith("I-"):
                continue
            for i, from_label in enumerate(self.labels):
                allowed[i][j] = from_label != OUTSIDE and from_label[2:] == to_label[2:]
        return allowed

    def allowed_starts(self) -> list[bool]:
        """May a sequence start with this label? (never with ``I-``)."""
        return [not lab.startswith("I-") for lab in self.labels]
