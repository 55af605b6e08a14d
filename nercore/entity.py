"""The one entity record the project passes around."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    """An entity mention in a text.

    Attributes:
        entity_type: e.g. "Disease" or "Chemical".
        start_char: offset of the first character in the original text.
        end_char: offset one past the last character, so ``text == note[start_char:end_char]``.
        text: the mention, exactly as it appears in the note.
        score: model confidence in [0, 1]: the mean CRF posterior marginal of the predicted
            tags over the mention's words.
    """

    entity_type: str
    start_char: int
    end_char: int
    text: str
    score: float
