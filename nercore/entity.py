"""The one entity record the project passes around."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Entity:
    """An entity mention in a text (built by keyword: ``Entity(entity_type="Disease", start_char=0, ...)``).

    Attributes:
        entity_type: e.g. "Disease" or "Chemical".
        start_char: offset of the first character in the original text.
        end_char: offset one past the last character, so ``text == note[start_char:end_char]``.
        text: the mention, exactly as it appears in the note.
        score: model confidence in [0, 1]: the mean CRF posterior marginal of the predicted
            tags over the mention's words.
        negation: "affirmed", "negated" or "possible"; None when context was not computed.
        temporality: "recent", "historical" or "hypothetical"; None when not computed.
        experiencer: "patient" or "other"; None when not computed.
        section: the normalised name of the note section the mention sits in (e.g.
            "past_medical_history"); None before any header or when not computed.

        icd10cm_code: the best ICD-10-CM candidate code of a linked entity (a Disease) when its
            score reaches the linker's threshold; None otherwise or when not linked.
        icd10cm_score: that candidate's score in [0, 1]; None when ``icd10cm_code`` is None.
        codes: the ranked candidates (``nercore.codes.linker.CodeCandidate``), best first; empty when
            not linked.

    The context fields are set by ``nercore.context.engine.ContextFinder`` (``Tagger`` does it unless
    loaded with ``context=False``), the code fields by ``nercore.codes.linker.CodeLinker``
    (``Tagger.load(codes=True)``).
    """

    entity_type: str
    start_char: int
    end_char: int
    text: str
    score: float
    negation: str | None = None
    temporality: str | None = None
    experiencer: str | None = None
    section: str | None = None
    icd10cm_code: str | None = None
    icd10cm_score: float | None = None
    codes: tuple = ()
