"""The one place that writes benchmark reports: print, then append to BENCHMARKS.md."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

HEADER = "# Benchmarks\n\n## Log\n\nWritten by the scripts under `bench/`; newest last.\n"


def heading(what: str) -> str:
    """A report's title line, stamped with the current UTC time."""
    return f"## {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {what}"


def publish(report: str, output: Path, write: bool = True) -> None:
    """Print a report and, unless ``write`` is false, append it to ``output``."""
    print(report)
    if write:
        existing = output.read_text() if output.exists() else HEADER
        output.write_text(existing.rstrip("\n") + "\n\n" + report)
