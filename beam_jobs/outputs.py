"""Output folder handling: a run writes into a staging folder that replaces DIR at the end.

Readers never see a mix of two runs: the new files appear only once the pipeline has finished,
by renaming the staging folder into place (on a local or mounted file system, two renames; on
an object store such as gs://, files are copied one by one, so point readers at summary.json,
written last, or at a fresh DIR per night).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from apache_beam.io.filesystems import FileSystems

from schemas import SchemaError

SUMMARY_FILE = "summary.json"
COUNTS_FILE = "_counts.json"
OUR_PREFIXES = ("entities-", "rejects-", SUMMARY_FILE)


def is_local(path: str) -> bool:
    return "://" not in path


def staging_path(output: str, run_id: str) -> str:
    return f"{output.rstrip('/')}.staging-{run_id}"


def check_output_folder(output: str) -> None:
    """Refuse to replace a local folder that holds files this job did not write."""
    if not is_local(output):
        return
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise SchemaError(f"{output}: output exists and is not a folder")
    if folder.is_dir():
        foreign = [p.name for p in folder.iterdir() if not p.name.startswith(OUR_PREFIXES)]
        if foreign:
            raise SchemaError(f"{output}: output folder holds files this job did not write (e.g. {foreign[0]}); choose an empty or new folder")


def write_json(path: str, payload: dict) -> None:
    with FileSystems.create(path) as handle:
        handle.write((json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: str) -> dict:
    with FileSystems.open(path) as handle:
        return json.loads(handle.read().decode())


def publish(staging: str, output: str, run_id: str) -> None:
    """Replace ``output`` with the finished ``staging`` folder."""
    if is_local(output):
        final, old = Path(output), Path(f"{output.rstrip('/')}.old-{run_id}")
        if final.exists():
            final.rename(old)
        Path(staging).rename(final)
        shutil.rmtree(old, ignore_errors=True)
        return
    existing = [m.path for r in FileSystems.match([f"{output.rstrip('/')}/*"]) for m in r.metadata_list]
    ours = [p for p in existing if p.rsplit("/", 1)[-1].startswith(OUR_PREFIXES)]
    if ours:
        FileSystems.delete(ours)
    staged = sorted(m.path for r in FileSystems.match([f"{staging}/*"]) for m in r.metadata_list)
    summary = [p for p in staged if p.endswith("/" + SUMMARY_FILE)]
    rest = [p for p in staged if p not in summary]
    for group in (rest, summary):  # summary.json last: its presence means the run is complete
        if group:
            FileSystems.rename(group, [f"{output.rstrip('/')}/{p.rsplit('/', 1)[-1]}" for p in group])
