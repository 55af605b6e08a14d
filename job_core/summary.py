"""The run's counts: summed in the pipeline, checked before publishing, written as summary.json."""

from __future__ import annotations

import job_core
from job_core import files
from job_core.notes import REASON_INFERENCE
from job_core.outputs import COUNTS_FILE, SUMMARY_FILE, read_json, write_json
from job_core.run_stats import rates


class RunFailed(RuntimeError):
    """The run finished but its output must not be published; the previous output stays."""


def merge_counts(a: dict, b: dict) -> dict:
    """Sum two nested count dicts."""
    out = dict(a)
    for key, value in b.items():
        out[key] = merge_counts(out.get(key, {}), value) if isinstance(value, dict) else out.get(key, 0) + value
    return out


def count_reject(row: dict) -> dict:
    """The count record of one reject row."""
    return {"notes_rejected": 1, "rejects_by_reason": {row["reason"].split(":")[0]: 1}}


def summarise(
    staging: str,
    *,
    run_id: str,
    tables: str,
    footer_rows: int,
    input_files: int,
    model_name: str,
    model_version: str,
    batch_tokens: int | None,
    max_failed_fraction: float,
    seconds: float,
) -> dict:
    """The run's summary from its counts, written into staging.

    Raises:
        RunFailed: the run must not be published (``publish_problems``).
    """
    counts = read_json(f"{staging}/{COUNTS_FILE}")
    summary = {
        "notes_in_footers": footer_rows,
        "notes_read": counts.get("notes_read", 0),
        "notes_tagged": counts.get("notes_tagged", 0),
        "notes_rejected": counts.get("notes_rejected", 0),
        "notes_unchanged": counts.get("notes_unchanged", 0),
        "entities": counts.get("entities", 0),
        "entities_by_type": dict(sorted(counts.get("entities_by_type", {}).items())),
        "entities_by_negation": dict(sorted(counts.get("entities_by_negation", {}).items())),
        "entities_with_code": counts.get("entities_with_code", 0),
        "rejects_by_reason": dict(sorted(counts.get("rejects_by_reason", {}).items())),
        "notes_by_precision": dict(sorted(counts.get("notes_by_precision", {}).items())),
        "windows": counts.get("windows", 0),
        "tokens": counts.get("tokens", 0),
        "seconds": round(seconds, 3),
        "input_files": input_files,
        "model_name": model_name,
        "model_version": model_version,
        "batch_tokens": batch_tokens or "auto",
        "pipeline_version": job_core.__version__,
        "run_id": run_id,
        "output": tables,
    }
    summary["stats"] = counts.get("stats", {})
    summary["rates"] = rates(summary["stats"], summary["notes_read"], summary["notes_rejected"])
    problems = publish_problems(summary, max_failed_fraction)
    if problems:
        raise RunFailed("; ".join(problems) + ": output not published, the previous output is unchanged")
    write_json(f"{staging}/{SUMMARY_FILE}", summary)
    files.delete([f"{staging}/{COUNTS_FILE}"])
    return summary


def publish_problems(summary: dict, max_failed_fraction: float) -> list[str]:
    """Why a finished run must not replace the previous output (empty if it may)."""
    problems = []
    read, tagged, rejected = summary["notes_read"], summary["notes_tagged"], summary["notes_rejected"]
    unchanged = summary.get("notes_unchanged", 0)
    if read != summary["notes_in_footers"]:
        problems.append(f"read {read} notes but the files' footers hold {summary['notes_in_footers']} rows")
    if tagged + rejected + unchanged != read:
        problems.append(f"lost notes: read {read}, tagged {tagged}, rejected {rejected}, unchanged {unchanged}")
    failed = summary["rejects_by_reason"].get(REASON_INFERENCE, 0)
    if failed > max_failed_fraction * read:
        problems.append(
            f"{failed} of {read} notes failed in inference (more than --max-failed-fraction {max_failed_fraction})"
        )
    return problems


def format_summary(summary: dict, output: str) -> str:
    lines = [
        f"notes read      {summary['notes_read']:>10,}",
        f"notes tagged    {summary['notes_tagged']:>10,}",
        f"notes rejected  {summary['notes_rejected']:>10,}",
        *([f"notes unchanged {summary['notes_unchanged']:>10,}"] if "incremental" in summary else []),
        f"entities        {summary['entities']:>10,}",
    ]
    lines += [f"  {t:<14}{n:>10,}" for t, n in summary["entities_by_type"].items()]
    if summary.get("entities_by_negation"):
        lines.append("entities by negation")
        lines += [f"  {t:<14}{n:>10,}" for t, n in summary["entities_by_negation"].items()]
    lines.append(f"entities with an ICD-10-CM code {summary.get('entities_with_code', 0):>10,}")
    if summary["rejects_by_reason"]:
        lines.append("rejects by reason")
        lines += [f"  {r:<30}{n:>6,}" for r, n in summary["rejects_by_reason"].items()]
    precision = ", ".join(f"{p} ({n:,} notes)" for p, n in summary.get("notes_by_precision", {}).items())
    lines += [
        f"windows {summary['windows']:,}, sub-words {summary['tokens']:,}, {summary['seconds']:.1f} s",
        f"encoder precision: {precision or '-'}",
        f"model {summary['model_name']} ({summary['model_version']})",
        f"output: {output}",
    ]
    if "warehouse" in summary:
        w = summary["warehouse"]
        lines.append(f"warehouse: {w['warehouse']} (namespace {w['namespace']}, run date {w['run_date']})")
    return "\n".join(lines)
