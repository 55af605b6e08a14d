"""A real Spark standalone cluster for the tests (``scripts/spark_cluster.sh``), on loopback, stopped by process id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import cmdline, descendants

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "spark_cluster.sh"


def spark_env(tmp: Path, as_a_user: bool = False) -> dict[str, str]:
    """The environment of a driver: the project's Python for the workers, temp files under ``tmp``.

    ``as_a_user``: no PYSPARK_PYTHON, and a PATH whose ``python3`` is the system's (which lacks the
    project), as for a user who runs the virtualenv's Python without activating it.
    """
    env = dict(os.environ)
    env.update(PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1", TOKENIZERS_PARALLELISM="false")
    if as_a_user:
        env.pop("PYSPARK_PYTHON")
        env.pop("PYSPARK_DRIVER_PYTHON", None)
        env["PATH"] = "/usr/bin:/bin"
    env["TMPDIR"] = str(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    return env


def pid_of(path: Path) -> int:
    return int(path.read_text().strip())


@dataclass
class SparkCluster:
    url: str
    folder: Path

    def workers(self) -> list[int]:
        return [pid_of(p) for p in sorted((self.folder / "pids").glob("worker*.pid"))]

    def executors(self) -> list[int]:
        """Executor JVMs (``CoarseGrainedExecutorBackend``) started by this cluster's workers."""
        return [pid for w in self.workers() for pid in descendants(w) if "CoarseGrainedExecutorBackend" in cmdline(pid)]

    def python_workers(self) -> list[int]:
        """Python worker processes: the children of each executor's ``pyspark.daemon``."""
        out = []
        for executor in self.executors():
            for pid in descendants(executor):
                if "pyspark.daemon" in cmdline(pid) and "pyspark.daemon" in cmdline(parent(pid)):
                    out.append(pid)
        return out


def parent(pid: int) -> int:
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


@contextmanager
def spark_cluster(folder: Path, workers: int = 2) -> Iterator[SparkCluster]:
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(
        ["bash", str(SCRIPT), "start", str(workers), str(folder)], capture_output=True, text=True, env=env, timeout=180
    )
    if result.returncode != 0:
        pytest.fail(f"spark_cluster.sh start failed: {result.stderr[-2000:]}")
    url = result.stdout.strip().splitlines()[-1]
    try:
        yield SparkCluster(url, folder)
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=120)


def notes_done(output: Path) -> int:
    """Notes the running job's workers have reported (``job_core.progress`` files in its staging folder)."""
    done = 0
    for path in output.parent.glob(f"{output.name}.staging-*/_progress/*.json"):
        try:
            done += json.loads(path.read_text() or "{}").get("notes", 0)
        except (OSError, ValueError):
            continue
    return done


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
