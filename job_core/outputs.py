"""Output folder handling: a run's files appear all at once, only when the run has succeeded.

Two layouts, chosen by ``--publish`` (``auto``: ``swap`` for local or mounted folders,
``versioned`` for object stores):

- ``swap``: the run writes into ``DIR.staging-<run id>``, which replaces ``DIR`` by two renames at
  the end. ``DIR`` holds the tables directly.
- ``versioned``: object stores have no atomic folder rename (a "rename" copies object by object,
  and a job that dies half-way would leave ``DIR`` empty or mixed). The run writes into
  ``DIR/runs/<run id>/`` and, once it has succeeded, writes ``DIR/LATEST.json`` last, a single
  object naming the run's folder and files. Readers read ``LATEST.json`` first. The previous run's
  folder is kept (a reader may still be reading it) and older ones, those of failed runs
  included, are deleted.

A failed run deletes its own folder; folders of runs that died without cleaning up are deleted by
the next successful run.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from job_core import files
from schemas import SchemaError

SUMMARY_FILE = "summary.json"
COUNTS_FILE = "_counts.json"
LATEST_FILE = "LATEST.json"
RUNS_FOLDER = "runs"
REPORT_FILE = "report.html"
OUR_PREFIXES = (
    "entities-",
    "codes-",
    "notes-",
    "note_codes-",
    "rejects-",
    SUMMARY_FILE,
    REPORT_FILE,
    LATEST_FILE,
    RUNS_FOLDER,
)
PUBLISH_MODES = ("auto", "swap", "versioned")


def new_run_id() -> str:
    """A run id that sorts by start time: ``20261122T104500Z-1a2b3c4d``."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class OutputLayout:
    """Where one run writes (``staging``) and how it publishes."""

    output: str
    run_id: str
    mode: str

    def __post_init__(self) -> None:
        if self.mode not in ("swap", "versioned"):
            raise ValueError(f"expected publish mode 'swap' or 'versioned', got {self.mode!r}")

    @classmethod
    def create(cls, output: str, mode: str = "auto", run_id: str | None = None) -> OutputLayout:
        if mode not in PUBLISH_MODES:
            raise ValueError(f"expected --publish {', '.join(PUBLISH_MODES)}, got {mode!r}")
        if mode == "auto":
            mode = "swap" if files.is_local(output) else "versioned"
        return cls(output.rstrip("/"), run_id or new_run_id(), mode)

    @property
    def staging(self) -> str:
        if self.mode == "swap":
            return f"{self.output}.staging-{self.run_id}"
        return f"{self.output}/{RUNS_FOLDER}/{self.run_id}"

    @property
    def tables(self) -> str:
        """The folder readers find this run's tables in once it is published."""
        return self.output if self.mode == "swap" else self.staging


def check_output_folder(output: str) -> None:
    """Refuse to replace a local folder that holds files this job did not write."""
    if not files.is_local(output):
        return
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise SchemaError(f"{output}: output exists and is not a folder")
    if folder.is_dir():
        foreign = [p.name for p in folder.iterdir() if not p.name.startswith(OUR_PREFIXES)]
        if foreign:
            raise SchemaError(
                f"{output}: output folder holds files this job did not write (e.g. {foreign[0]}); choose an empty or "
                "new folder"
            )


def write_json(path: str, payload: dict) -> None:
    with files.create(path) as handle:
        handle.write((json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: str) -> dict:
    return json.loads(files.read_bytes(path).decode())


def discard(layout: OutputLayout) -> None:
    """Remove a failed run's staging folder; the published output stays as it was."""
    files.delete_tree(layout.staging)


def publish(layout: OutputLayout) -> None:
    """Make the finished staging folder the output (see the module docstring)."""
    if layout.mode == "swap":
        _publish_swap(layout)
    else:
        _publish_versioned(layout)


def _publish_swap(layout: OutputLayout) -> None:
    final, old = Path(layout.output), Path(f"{layout.output}.old-{layout.run_id}")
    if final.exists():
        final.rename(old)
    Path(layout.staging).rename(final)
    shutil.rmtree(old, ignore_errors=True)
    for stale in final.parent.glob(f"{final.name}.staging-*"):  # runs that died before cleaning up
        shutil.rmtree(stale, ignore_errors=True)


def _publish_versioned(layout: OutputLayout) -> None:
    latest = f"{layout.output}/{LATEST_FILE}"
    previous = read_json(latest).get("run_id") if files.exists(latest) else None
    names = [p.rsplit("/", 1)[-1] for p in files.list_files(layout.staging)]
    write_json(
        latest,
        {
            "run_id": layout.run_id,
            "folder": layout.staging,
            "files": names,
            "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )
    keep = {layout.run_id, previous}
    for run_id in run_folders(layout.output):
        if run_id not in keep:
            files.delete_tree(f"{layout.output}/{RUNS_FOLDER}/{run_id}")


def run_folders(output: str) -> list[str]:
    """Run ids that have a folder under ``DIR/runs``."""
    root = f"{output}/{RUNS_FOLDER}"
    if files.is_local(root):
        return sorted(p.name for p in Path(root).iterdir() if p.is_dir()) if Path(root).is_dir() else []
    paths = files.match(f"{root}/**")
    return sorted({p[len(root) + 1 :].split("/", 1)[0] for p in paths})


def published_folder(output: str) -> str:
    """The folder holding the latest published tables of ``output``, in either layout."""
    latest = f"{output.rstrip('/')}/{LATEST_FILE}"
    return read_json(latest)["folder"] if files.exists(latest) else output.rstrip("/")
