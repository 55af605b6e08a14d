"""Night against night: each headline rate beside the previous published run's, and the drift gate.

A night can reconcile perfectly and still be wrong (an export that wraps notes in XML, a
de-identification tool that replaces every drug name with ``**NAME``). ``compare`` puts each rate
of ``run_stats.rates`` beside the previous run's with its relative change, flagged when it moves
by more than ``tolerance``; ``drift_problem`` is why the run must not be published under
``--max-drift`` (the previous output stays, as with the other publish checks).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

DEFAULT_TOLERANCE = 0.3


@dataclass(frozen=True, kw_only=True)
class Change:
    """One rate of this night beside the previous night's."""

    name: str
    previous: float | None
    current: float | None
    relative: float | None  # (current - previous) / previous; None when either is missing, inf from 0
    flagged: bool

    def line(self) -> str:
        def show(v: float | None) -> str:
            return "absent" if v is None else f"{v:.4g}"

        moved = "n/a" if self.relative is None else f"{100 * self.relative:+.0f}%"
        return f"{self.name} moved from {show(self.previous)} to {show(self.current)} ({moved})"


def relative_change(previous: float | None, current: float | None) -> float | None:
    if previous is None or current is None:
        return None
    if previous == 0:
        return 0.0 if current == 0 else float("inf")
    return (current - previous) / previous


def compare(
    current: dict[str, float], previous: dict[str, float], tolerance: float = DEFAULT_TOLERANCE
) -> list[Change]:
    """Every rate of either night, flagged when it moved by more than ``tolerance`` (a rate that
    appears or disappears is flagged too)."""
    out = []
    for name in sorted(set(current) | set(previous)):
        now, before = current.get(name), previous.get(name)
        rel = relative_change(before, now)
        appeared = (before is None) != (now is None) or (before == 0 and now not in (0, None))
        flagged = appeared or (rel is not None and abs(rel) > tolerance)
        out.append(Change(name=name, previous=before, current=now, relative=rel, flagged=flagged))
    return out


def comparison_record(
    changes: list[Change], *, previous_run: str | None, model_changed: bool, tolerance: float, accepted: bool
) -> dict:
    """The comparison as ``summary.json`` holds it (infinities as null: JSON has none)."""
    rows = []
    for c in changes:
        row = asdict(c)
        if row["relative"] is not None and abs(row["relative"]) == float("inf"):
            row["relative"] = None
        rows.append(row)
    return {
        "previous_run": previous_run,
        "model_changed": model_changed,
        "tolerance": tolerance,
        "flagged": [c.name for c in changes if c.flagged],
        "drift_accepted": accepted,
        "rates": rows,
    }


def drift_problem(changes: list[Change], max_drift: float, model_changed: bool) -> str | None:
    """The one line saying why a run must not be published under ``--max-drift``, or None."""
    beyond = [c for c in changes if c.flagged and (c.relative is None or abs(c.relative) > max_drift)]
    if not beyond:
        return None
    worst = max(beyond, key=lambda c: float("inf") if c.relative is None else abs(c.relative))
    more = f" and {len(beyond) - 1} more" if len(beyond) > 1 else ""
    model = " (the model version changed, so rates are expected to move)" if model_changed else ""
    return (
        f"drift beyond --max-drift {max_drift}: {worst.line()}{more}{model}; output not published, the previous "
        "output is unchanged (--accept-drift publishes anyway)"
    )


def compare_summaries(summary: dict, previous: dict, tolerance: float = DEFAULT_TOLERANCE) -> dict:
    """The comparison record of a run's summary against a previous run's (``python -m job_core.report
    --compare-to``)."""
    changes = compare(summary.get("rates", {}), previous.get("rates", {}), tolerance)
    return comparison_record(
        changes,
        previous_run=previous.get("run_id"),
        tolerance=tolerance,
        accepted=False,
        model_changed=previous.get("model_version") != summary.get("model_version"),
    )
