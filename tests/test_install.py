"""A plain install runs the default job: wheel → fresh virtualenv → ``tag-notes`` on two notes; with
the ``spark`` extra, the Spark job on the same notes gives the same entities.

The new virtualenv gets nothing from the test environment but torch, pyspark and the packages they
need (linked in through a ``.pth`` file, so the multi-GB torch build and Spark's 489 MB of jars are
not installed again); everything
else comes from the wheel's own metadata, resolved by pip offline from a wheelhouse of exactly
the test environment's versions (built once per machine into ``.venv/wheelhouse`` by
``pip wheel --no-deps``). A dependency missing from the metadata therefore fails here, as it
would for a user. The job runs outside the repository with no model argument (the bundled
model, packaged in the wheel) and codes on (the session's small code index through
``$NERCORE_CODE_INDEX``).
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parent.parent
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"
PROJECT = "clinical-ner"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(name: str, seen: set[str]) -> set[str]:
    """The installed distributions ``name`` needs, itself included (extras left out)."""
    key = canonical(name)
    if key in seen:
        return seen
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return seen
    seen.add(key)
    for requirement in dist.requires or []:
        if "extra ==" not in requirement:
            closure(re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0), seen)
    return seen


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kwargs)


LINKED = ("torch", "pyspark")


def link_heavy(into: Path) -> set[str]:
    """Symlink torch, pyspark and what they need (top-level files and metadata folders) into ``into``.

    Not setuptools: the new virtualenv has its own, which would shadow a linked one (it is
    installed from the wheelhouse at the test environment's version instead)."""
    names: set[str] = set()
    for name in LINKED:
        names = closure(name, names)
    names -= {"setuptools"}
    into.mkdir()
    for dist in metadata.distributions():
        if canonical(dist.metadata["Name"]) not in names:
            continue
        site = Path(dist.locate_file(""))
        for top in {Path(f).parts[0] for f in dist.files or []}:
            source = site / top
            if top not in ("..", "__pycache__") and source.exists() and not (into / top).exists():
                (into / top).symlink_to(source)
    return names


def build_wheelhouse(skip: set[str]) -> None:
    """Wheels of every distribution of the test environment but the linked closures and this project."""
    frozen = run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"]).stdout.splitlines()
    pins = [
        line for line in frozen if "==" in line and canonical(line.split("==")[0]) not in skip | {canonical(PROJECT)}
    ]
    pins.append(f"setuptools=={metadata.version('setuptools')}")  # pip freeze leaves it out
    WHEELHOUSE.mkdir(exist_ok=True)
    have = {canonical(p.name.split("-")[0]) + "==" + p.name.split("-")[1] for p in WHEELHOUSE.glob("*.whl")}
    missing = [p for p in pins if canonical(p.split("==")[0]) + "==" + p.split("==")[1] not in have]
    if missing:
        result = run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(WHEELHOUSE), *missing])
        assert result.returncode == 0, result.stderr[-2000:]


def test_a_plain_install_runs_the_default_job(tmp_path):
    if not hasattr(os, "symlink"):
        pytest.skip("needs symlinks")
    torch_site = tmp_path / "torch-site"
    skip = link_heavy(torch_site)
    build_wheelhouse(skip)
    dist = tmp_path / "dist"
    built = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(REPO),
        ]
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = dist.glob("clinical_ner-*.whl")

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "torch-from-test-env.pth").write_text(f"{torch_site}\n")
    installed = run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(WHEELHOUSE)]
        + [f"{wheel}[spark]"]
    )
    assert installed.returncode == 0, installed.stderr[-3000:]

    work = tmp_path / "elsewhere"
    work.mkdir()
    notes = pa.table({"note_id": ["a", "b"], "text": ["Started amoxicillin for pneumonia.", "No evidence of sepsis."]})
    pq.write_table(notes, work / "notes.parquet")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}:{env.get('PATH', '')}"
    job = run([str(env_dir / "bin" / "tag-notes"), "--input", "notes.parquet", "--output", "out"], cwd=work, env=env)
    assert job.returncode == 0, job.stderr[-3000:]
    assert "apitools not found" not in job.stderr and "Resource module is not available" not in job.stderr
    # The job ran from the installed package, not from the repository.
    origin = run(
        [str(python), "-c", "import nercore, beam_jobs; print(nercore.__file__, beam_jobs.__file__)"], cwd=work, env=env
    ).stdout
    assert str(REPO) not in origin and str(site) in origin
    entities = pq.read_table(next((work / "out").glob("entities-*.parquet"))).to_pylist()
    by_text = {(e["note_id"], e["text"]): e for e in entities}
    assert {("a", "amoxicillin"), ("a", "pneumonia")} <= set(by_text)
    assert by_text[("a", "pneumonia")]["icd10cm_code"] == "J18.9"  # codes were linked
    summary = json.loads((work / "out" / "summary.json").read_text())
    assert summary["notes_tagged"] == 2 and summary["notes_rejected"] == 0
    codes = list((work / "out").glob("codes-*.parquet"))
    assert codes and sum(pq.read_metadata(c).num_rows for c in codes) > 0

    # The Spark job from the same install, on the same notes: the same entities.
    spark = run(
        [str(python), "-m", "spark_jobs.tag_notes", "--input", "notes.parquet", "--output", "out-spark"]
        + ["--master", "local[1]"],
        cwd=work,
        env={**env, "PYSPARK_PYTHON": str(python)},
    )
    assert spark.returncode == 0, spark.stderr[-3000:]
    on_spark = pq.read_table(next((work / "out-spark").glob("entities-*.parquet"))).to_pylist()
    assert sorted(on_spark, key=lambda e: e["entity_id"]) == sorted(entities, key=lambda e: e["entity_id"])
