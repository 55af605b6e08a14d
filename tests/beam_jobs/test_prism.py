"""The job on Prism, Beam's portable runner, in both topologies a cluster uses, against the default runner.

1. ``--runner PrismRunner``: the SDK starts Prism and its workers (LOOPBACK).
2. A standalone Prism job server and an SDK worker pool in separate processes, the job submitted
   with ``--runner PortableRunner --job_endpoint ... --environment_type EXTERNAL`` (how Beam
   Python runs on Flink under Kubernetes, the pool as a TaskManager sidecar).
3. A clean end: no traceback after a good run; one ``error:`` line and nothing published when the
   job server cannot be reached or an SDK worker is killed mid-run, and a rerun on the same job
   server and pool then gives the same tables.

Prism is built by ``scripts/setup_env.sh`` (``go install``); these tests fail where Go is present
and Prism is missing, and skip only where Go is absent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from beam_jobs.tag_notes import run
from tests.beam_jobs.engines import cluster, prism_binary, venv_env
from tests.job_tables import adversarial_rows, tables, write_notes


def cli(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    env = venv_env()
    env["TOKENIZERS_PARALLELISM"] = "false"
    return subprocess.run(
        [sys.executable, "-m", "beam_jobs.tag_notes", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        **kwargs,
    )


@pytest.fixture(scope="module")
def job(tiny_model_dir, tmp_path_factory):
    """The notes, the job's arguments for them, and the default runner's tables."""
    root = tmp_path_factory.mktemp("prism")
    notes = write_notes(root / "notes.parquet", adversarial_rows())
    args = ["--input", str(notes), "--model", str(tiny_model_dir), "--passthrough", "patient_id,note_type"]
    run([*args, "--output", str(root / "default")])
    return root, args, tables(root / "default")


def test_prism_runner_gives_the_default_runners_tables_and_ends_cleanly(job):
    root, args, expected = job
    prism = prism_binary()
    result = cli([*args, "--output", str(root / "prism"), "--runner", "PrismRunner", "--prism_location", str(prism)])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    got = tables(root / "prism")
    assert got["summary"] == expected["summary"] and got["summary"]["notes_rejected"] > 0
    assert got == expected  # entity ids, spans, scores to the bit, context, codes, rejects
    assert expected["entities"] and expected["codes"]


def test_a_standalone_job_server_and_worker_pool_give_the_same_tables(job, tmp_path):
    root, args, expected = job
    with cluster(tmp_path / "logs") as engine:
        result = cli([*args, "--output", str(tmp_path / "out"), *engine.pipeline_args])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert tables(tmp_path / "out") == expected


def test_an_unreachable_job_server_is_one_error_line_before_anything_runs(job, tmp_path):
    root, args, _ = job
    started = time.monotonic()
    result = cli(
        [
            *args,
            "--output",
            str(tmp_path / "out"),
            "--runner",
            "PortableRunner",
            "--job_endpoint",
            "localhost:9",
            "--environment_type",
            "EXTERNAL",
            "--environment_config",
            "localhost:9",
        ]
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "error: cannot reach the job server at localhost:9"
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()
    assert time.monotonic() - started < 120


def many_notes(path: Path, n: int) -> Path:
    words = "Patient admitted with pneumonia and started on amoxicillin; history of sepsis. "
    rows = [
        {"note_id": f"n{i:06d}", "patient_id": "P1", "note_type": "x", "text": words * (1 + i % 7)} for i in range(n)
    ]
    return write_notes(path, rows)


def test_a_killed_sdk_worker_fails_the_job_in_one_line_and_a_rerun_gives_the_tables(tiny_model_dir, tmp_path):
    notes = many_notes(tmp_path / "many.parquet", 4_000)
    args = [
        "--input",
        str(notes),
        "--model",
        str(tiny_model_dir),
        "--no-codes",
        "--max-batch-chars",
        "20000",
        "--rows-per-item",
        "500",
    ]
    run([*args, "--output", str(tmp_path / "default")])
    expected = tables(tmp_path / "default")
    out = tmp_path / "out"
    with cluster(tmp_path / "logs") as engine:
        env = venv_env()
        env["TOKENIZERS_PARALLELISM"] = "false"
        job = subprocess.Popen(
            [sys.executable, "-m", "beam_jobs.tag_notes", *args, "--output", str(out), *engine.pipeline_args],
            stderr=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        killed = kill_a_worker_once_it_has_tagged(engine, out, job)
        _, stderr = job.communicate(timeout=300)
        assert killed, f"the job ended before a worker could be killed: {stderr[-2000:]}"
        assert job.returncode == 1, stderr[-3000:]
        last = stderr.strip().splitlines()[-1]
        assert last.startswith("error: the runner failed the job: an SDK worker disconnected (stage-")
        assert "nothing published" in last
        assert not out.exists() and not list(tmp_path.glob("out.staging-*"))
        rerun = cli([*args, "--output", str(out), *engine.pipeline_args])
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert tables(out) == expected


def kill_a_worker_once_it_has_tagged(engine, out: Path, job: subprocess.Popen, timeout: float = 240.0) -> bool:
    """SIGKILL one SDK worker of the pool once the run's progress files count tagged notes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and job.poll() is None:
        progress = [p for p in out.parent.glob(f"{out.name}.staging-*/_progress/*.json")]
        done = sum(json.loads(p.read_text() or "{}").get("notes", 0) for p in progress if p.stat().st_size)
        workers = engine.sdk_workers()
        if done and workers:
            os.kill(workers[0], signal.SIGKILL)
            return True
        time.sleep(0.2)
    return False
