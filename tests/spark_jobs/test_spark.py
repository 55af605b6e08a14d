"""The job on Apache Spark against the Beam job: the same tables at ``local[2]``, through the three
ways to run it, on a real standalone cluster whose Python worker and executor are killed mid-run,
and a failed run that publishes nothing.

pyspark comes with ``pip install .[spark]`` (``scripts/setup_env.sh`` installs it); these tests
fail, not skip, when it is missing, and skip only where no Java runtime is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from beam_jobs.tag_notes import run as beam_run
from job_core.config import JobConfig
from job_core.failures import EngineFailed
from job_core.warehouse.catalog import open_catalog
from tests.fakes import FakeSpec
from tests.job_tables import adversarial_rows, schemas, tables, write_notes
from tests.spark_jobs.cluster import kill, notes_done, spark_cluster, spark_env, wait_until

if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("no Java runtime: Spark cannot start", allow_module_level=True)

from pyspark.sql import SparkSession  # noqa: E402 - after the Java check: fails, not skips, without pyspark

from spark_jobs.session import session_conf  # noqa: E402
from spark_jobs.tag_notes import run_on, tag_notes  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def spark_cli(args: list[str], tmp: Path, timeout: float = 600, as_a_user: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "spark_jobs.tag_notes", *args],
        capture_output=True,
        text=True,
        env=spark_env(tmp, as_a_user),
        timeout=timeout,
        cwd=tmp,
    )


@pytest.fixture(scope="module")
def job(tiny_model_dir, tmp_path_factory):
    """The adversarial notes, the job's arguments for them, and the Beam default runner's tables."""
    root = tmp_path_factory.mktemp("spark")
    notes = write_notes(root / "notes.parquet", adversarial_rows(), row_group_size=7)  # several work items
    args = ["--input", str(notes), "--model", str(tiny_model_dir), "--passthrough", "patient_id,note_type"]
    args += ["--rows-per-item", "4"]
    beam_run([*args, "--output", str(root / "beam")])
    return root, args, tables(root / "beam")


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    """An in-process session at local[2] that retries a failed task once (``local[2,2]``)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = SparkSession.builder.config(conf=session_conf("local[2,2]", {})).getOrCreate()
    yield session
    session.stop()


def test_the_cli_at_local_2_gives_the_beam_jobs_tables_quietly_with_one_model_per_worker(job, tmp_path):
    root, args, expected = job
    # as a user runs it: the virtualenv's Python, not activated, no PYSPARK_PYTHON
    result = spark_cli([*args, "--output", str(tmp_path / "out"), "--master", "local[2]"], tmp_path, as_a_user=True)
    assert result.returncode == 0, result.stderr[-3000:]
    got = tables(tmp_path / "out")
    assert got["summary"] == expected["summary"] and got["summary"]["notes_rejected"] > 0
    assert got == expected  # entity ids, spans, scores to the bit, context, codes, rejects
    assert expected["entities"] and expected["codes"]
    assert schemas(tmp_path / "out") == schemas(root / "beam")
    # Quiet: the job's progress and summary, none of Spark's console bar, WARN lines or JVM notices.
    for noise in ("WARN", "[Stage", "NativeCodeLoader", "incubator", "Traceback"):
        assert noise not in result.stderr, noise
    assert "notes tagged" in result.stdout and "Spark's log:" in result.stderr
    facts = json.loads((tmp_path / "out" / "summary.json").read_text())["spark"]
    assert facts["tasks"] == 6  # 21 rows: row groups of 7 cut into work items of at most 4 rows
    assert facts["model_loads"] == facts["python_workers"] <= 2  # once per Python worker, not once per task
    assert f"model loaded {facts['model_loads']} times" in result.stderr


def test_a_notebook_session_and_spark_submit_give_the_same_tables(job, spark, tmp_path):
    root, args, expected = job
    options = {"model": args[3], "passthrough": ("patient_id", "note_type"), "rows_per_item": 4}
    summary = tag_notes(spark, args[1], str(tmp_path / "notebook"), **options)
    assert summary["notes_read"] == expected["summary"]["notes_read"]
    assert tables(tmp_path / "notebook") == expected
    submit = Path(spark.sparkContext._jvm.System.getenv("SPARK_HOME") or "") / "bin" / "spark-submit"
    if not submit.is_file():
        import pyspark

        submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    result = subprocess.run(
        [str(submit), "--master", "local[2]", str(REPO / "spark_jobs" / "tag_notes.py"), *args]
        + ["--output", str(tmp_path / "submit")],
        capture_output=True,
        text=True,
        env=spark_env(tmp_path / "tmp"),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert tables(tmp_path / "submit") == expected


def test_a_task_that_fails_every_attempt_publishes_nothing(spark, tmp_path):
    notes = write_notes(
        tmp_path / "notes.parquet",
        [{"note_id": f"n{i}", "patient_id": "p", "note_type": "t", "text": f"pneumonia {i}"} for i in range(30)]
        + [{"note_id": "bad", "patient_id": "p", "note_type": "t", "text": "CRASH here"}],
        row_group_size=8,
    )
    out = tmp_path / "out"
    config = JobConfig(inputs=(str(notes),), output=str(out), codes=False)
    run_on(spark, config, FakeSpec(context=False))  # a published night to keep
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(EngineFailed) as failed:
        run_on(spark, config, FakeSpec(context=False, crash_on="CRASH"))
    message = str(failed.value)
    assert message.startswith("Spark failed the job: a Python worker crashed (the task was tried 2 times)")
    assert "nothing published (detail: " in message and "\n" not in message
    assert "CRASH" not in message and "pneumonia" not in message  # no note text
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not list(tmp_path.glob("out.staging-*"))


def test_bad_input_is_one_error_line_before_spark_starts(tmp_path):
    started = time.monotonic()
    result = spark_cli(["--input", str(tmp_path / "none-*.parquet"), "--output", str(tmp_path / "out")], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"error: {tmp_path}/none-*.parquet: no input file matches"
    assert "Spark" not in result.stderr and time.monotonic() - started < 60
    result = spark_cli(["--input", "x", "--output", "y", "--large-model"], tmp_path)
    assert result.returncode == 2 and "--large-model and --model-copies are Beam options" in result.stderr


def test_a_cluster_survives_a_killed_python_worker_and_a_killed_executor(tmp_path):
    """Two one-core workers; mid-run, SIGKILL one Python worker, then one executor JVM: Spark re-runs the
    lost tasks, and the published tables equal the Beam job's, every entity once."""
    words = "Fever and productive cough; started amoxicillin for community acquired pneumonia. " * 3
    rows = [{"note_id": f"c{i:05d}", "patient_id": "p", "note_type": "t", "text": f"{i} {words}"} for i in range(1600)]
    notes = write_notes(tmp_path / "notes.parquet", rows, row_group_size=100)  # 16 tasks of about 4 s
    args = ["--input", str(notes), "--no-codes"]
    beam_run([*args, "--output", str(tmp_path / "beam")])
    expected = tables(tmp_path / "beam")
    out = tmp_path / "out"
    with spark_cluster(tmp_path / "cluster", workers=2) as cluster:
        conf = ["--conf", f"spark.executor.extraJavaOptions=-Djava.io.tmpdir={tmp_path / 'cluster' / 'tmp'}"]
        driver = subprocess.Popen(
            [sys.executable, "-m", "spark_jobs.tag_notes", *args, "--output", str(out), "--master", cluster.url, *conf],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=spark_env(tmp_path / "driver-tmp"),
            cwd=tmp_path,
        )
        try:
            wait_until(lambda: notes_done(out) >= 200 and cluster.python_workers(), 300, "the first tagged notes")
            kill(cluster.python_workers()[0])
            seen = notes_done(out)
            wait_until(lambda: notes_done(out) >= seen + 300 and cluster.executors(), 300, "more tagged notes")
            kill(cluster.executors()[0])
            stdout, stderr = driver.communicate(timeout=600)
        finally:
            if driver.poll() is None:
                driver.kill()
    assert driver.returncode == 0, stderr[-3000:]
    got = tables(out)
    assert got == expected
    ids = [r["entity_id"] for r in got["entities"]]
    assert len(ids) == len(set(ids)) == expected["summary"]["entities"] > 1600
    facts = json.loads((out / "summary.json").read_text())["spark"]
    assert facts["tasks"] == 16 and facts["model_loads"] == facts["python_workers"] >= 3  # two lost, reloaded


def test_the_spark_job_commits_to_the_warehouse_through_the_same_code(spark, tmp_path):
    notes = write_notes(
        tmp_path / "notes.parquet",
        [{"note_id": f"w{i}", "patient_id": "p", "note_type": "t", "text": f"pneumonia {i}"} for i in range(40)],
    )
    config = {"inputs": (str(notes),), "warehouse": str(tmp_path / "wh"), "codes": False, "incremental": True}
    first = run_on(spark, JobConfig(output=str(tmp_path / "out1"), **config), FakeSpec())
    again = run_on(spark, JobConfig(output=str(tmp_path / "out2"), **config), FakeSpec())
    assert (first["notes_tagged"], again["notes_tagged"], again["notes_unchanged"]) == (40, 0, 40)
    catalog = open_catalog(str(tmp_path / "wh"))
    assert catalog.load_table("clinical_ner.entities").scan().to_arrow().num_rows == first["entities"] == 40
    assert catalog.load_table("clinical_ner.runs").scan().to_arrow().num_rows == 2
