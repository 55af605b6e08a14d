"""What a night looked like, as counts that add up across bundles: the figures of the run report.

Workers count per bundle (``RunStats.add``, called with each tagged batch) and the pipeline sums
the records like every other count (``summary.merge_counts``). Only counts leave a worker: entity
types, context values, section names, ICD-10-CM codes and histogram bins, never a note's text or
id. ``rates`` turns the summed counts into the rates that the report shows and that the drift
check compares between nights.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import repeat

from job_core.tags import BatchTags

SCORE_BINS = 20  # score histogram: bins of 0.05 over [0, 1]
DENSITY_STEP = 5.0  # entities per 1,000 characters, per note: bins of 5
DENSITY_BINS = 40  # the last bin holds everything above 195 per 1,000 characters
CONTEXT_FIELDS = ("negation", "temporality", "experiencer")
NO_SECTION = "(none)"


def score_bin(score: float) -> str:
    return str(min(SCORE_BINS - 1, max(0, int(score * SCORE_BINS))))


def density_bin(entities: int, chars: int) -> str:
    per_thousand = 1000.0 * entities / max(chars, 1)
    return str(min(DENSITY_BINS - 1, int(per_thousand // DENSITY_STEP)))


class RunStats:
    """Counts of one bundle's tagged notes (``add``), as a nested dict of ints (``as_record``).

    Counted with ``Counter.update`` over generators of keys (its loop runs in C): about a
    microsecond per entity, against seven for a dict update per field and entity.
    """

    def __init__(self) -> None:
        self.chars = 0
        self.types: Counter = Counter()  # type → entities
        self.keyed: Counter = Counter()  # (type, field, value) → entities
        self.score_sums: Counter = Counter()  # type → sum of scores in millionths (ints add up exactly)
        self.sections: Counter = Counter()
        self.density: Counter = Counter()
        self.codes: Counter = Counter()

    def add(self, texts: Sequence[str], tags: BatchTags) -> None:
        """Count the tagged notes of a batch (``texts[i]`` is note ``i``'s text; failed notes have no entities)."""
        columns = tags.tagged.columns
        rows = tags.tagged_rows()
        counts = columns.counts().tolist()
        self.chars += sum(len(texts[i]) for i in rows)
        self.density.update(density_bin(counts[i], len(texts[i])) for i in rows)
        types = columns.entity_type
        self.types.update(types)
        keyed = self.keyed  # keys (type, field, value), formatted once per key in as_record
        scores = columns.score.tolist()
        keyed.update(
            zip(types, repeat("score_bin"), (min(SCORE_BINS - 1, max(0, int(x * SCORE_BINS))) for x in scores))
        )
        values = {field: columns.context_values(field) for field in CONTEXT_FIELDS}
        for field in CONTEXT_FIELDS:
            keyed.update(zip(types, repeat(field), (value or "not_computed" for value in values[field])))
        for entity_type, score in zip(types, (int(round(x * 1e6)) for x in scores)):
            self.score_sums[entity_type] += score
        self.sections.update(section or NO_SECTION for section in columns.context_values("section"))
        if columns.linked is None:
            return
        coded = [i for i, code in enumerate(columns.linked.icd10cm_code) if code is not None]
        code, code_score = columns.linked.icd10cm_code, columns.linked.icd10cm_score
        keyed.update((types[i], "coded", None) for i in coded)
        keyed.update((types[i], "code_score_bin", int(score_bin(code_score[i] or 0.0))) for i in coded)
        negation, experiencer, temporality = (values[f] for f in ("negation", "experiencer", "temporality"))
        self.codes.update(
            code[i]
            for i in coded
            if negation[i] == "affirmed" and experiencer[i] == "patient" and temporality[i] != "hypothetical"
        )

    def entities_by_type(self) -> dict[str, int]:
        return dict(self.types)

    def entities_by(self, field: str) -> dict[str, int]:
        """Entities by the value of a context field (``not_computed`` without context), all types together."""
        out: Counter = Counter()
        for (_, name, value), n in self.keyed.items():
            if name == field:
                out[value] += n
        return dict(out)

    def as_record(self) -> dict:
        by_type: dict[str, dict[str, int]] = {
            t: {"n": n, "score_sum_micro": self.score_sums[t]} for t, n in self.types.items()
        }
        for (entity_type, name, value), n in self.keyed.items():
            by_type[entity_type][name if value is None else f"{name}:{value}"] = n
        return {
            "chars_tagged": self.chars,
            "by_type": by_type,
            "sections": dict(self.sections),
            "density_bins": dict(self.density),
            "affirmed_patient_codes": dict(self.codes),
        }


def share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def rates(stats: dict, notes_read: int, notes_rejected: int) -> dict[str, float]:
    """The night's headline rates, by name: what the report shows side by side with the previous
    night's and what ``--max-drift`` checks."""
    by_type = stats.get("by_type", {})
    chars = stats.get("chars_tagged", 0)
    entities = sum(c.get("n", 0) for c in by_type.values())
    out: dict[str, float] = {}
    for entity_type, counts in sorted(by_type.items()):
        n = counts.get("n", 0)
        out[f"{entity_type} entities per 1,000 characters"] = 1000.0 * share(n, chars)
        out[f"{entity_type} mean score"] = share(counts.get("score_sum_micro", 0), n) / 1e6
    negated = sum(c.get("negation:negated", 0) for c in by_type.values())
    out["negated share"] = share(negated, entities)
    disease = by_type.get("Disease", {})
    out["Disease coded share"] = share(disease.get("coded", 0), disease.get("n", 0))
    out["reject rate"] = share(notes_rejected, notes_read)
    out["unknown-section share"] = share(stats.get("sections", {}).get(NO_SECTION, 0), entities)
    return out
