"""Before publishing: the night against the previous published one, the drift gate, and the report."""

from __future__ import annotations

from job_core import files
from job_core.config import JobConfig
from job_core.drift import compare, comparison_record, drift_problem
from job_core.outputs import SUMMARY_FILE, published_folder, read_json, write_json
from job_core.report import write_report
from job_core.summary import RunFailed


def previous_summary(output: str) -> dict | None:
    """The summary of the run now published at ``output``, or None (first run, nothing published)."""
    path = f"{published_folder(output)}/{SUMMARY_FILE}"
    return read_json(path) if files.exists(path) else None


def review(summary: dict, config: JobConfig, staging: str) -> dict:
    """Compare with the previous published run, apply ``--max-drift``, and write the final
    ``summary.json`` and ``report.html`` into ``staging``.

    Raises:
        RunFailed: a rate moved by more than ``--max-drift`` and ``--accept-drift`` is not given.
    """
    previous = previous_summary(config.output)
    if previous is not None:
        changes = compare(summary.get("rates", {}), previous.get("rates", {}), config.drift_tolerance)
        model_changed = previous.get("model_version") != summary.get("model_version")
        problem = None if config.max_drift is None else drift_problem(changes, config.max_drift, model_changed)
        if problem and not config.accept_drift:
            raise RunFailed(problem)
        summary["comparison"] = comparison_record(
            changes,
            previous_run=previous.get("run_id"),
            model_changed=model_changed,
            tolerance=config.drift_tolerance,
            accepted=problem is not None,
        )
    write_json(f"{staging}/{SUMMARY_FILE}", summary)
    write_report(staging, summary)
    return summary
