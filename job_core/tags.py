"""One NoteBatch's tagging as it travels from the tagging step to the tables (any engine)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from nercore.tagging.results import TaggedTexts, TagResult


@dataclass(frozen=True)
class BatchTags:
    """One NoteBatch's tagging: every note's entities as columns (``tagged`` holds one text per
    note; a failed note has no entities, windows or sub-words) and each note's failure, if any."""

    tagged: TaggedTexts
    failures: tuple[str | None, ...]  # per note: None, or "inference_failed:<Error>"

    def __post_init__(self) -> None:
        if len(self.tagged) != len(self.failures):
            raise ValueError(f"expected one failure slot per note, got {len(self.failures)} for {len(self.tagged)}")

    def tagged_rows(self) -> list[int]:
        """The notes that were tagged (their rows in the NoteBatch)."""
        return [i for i, failure in enumerate(self.failures) if failure is None]

    @classmethod
    def from_results(cls, results: Sequence[TagResult | str], *, context: bool, linked: bool) -> BatchTags:
        """Per-note results (a ``TagResult``, or a failure's reason) as columns."""
        ok = [r if not isinstance(r, str) else TagResult(entities=[], windows=0, tokens=0) for r in results]
        tagged = TaggedTexts.from_results(ok, context=context, linked=linked)
        first = next((r for r in results if not isinstance(r, str)), None)
        if first is not None:
            tagged = replace(tagged, precision=first.precision, model_version=first.model_version)
        return cls(tagged, tuple(r if isinstance(r, str) else None for r in results))
