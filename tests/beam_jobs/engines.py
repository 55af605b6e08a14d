"""Starting and stopping the engines the job tests run on: Prism and an SDK worker pool.

Servers listen on loopback ports only and are stopped by process id (their process group, so a
worker pool's SDK workers go with it), as Beam's own ``portable_runner_test.py`` does for its job
server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from tests.processes import cmdline, descendants

REPO = Path(__file__).resolve().parents[2]
PRISM_ENV = "NERCORE_PRISM"


def prism_binary() -> Path:
    """The Prism binary: ``$NERCORE_PRISM``, else the one ``scripts/setup_env.sh`` built.

    Skips only where Go is absent (nothing could have built it); fails with the reason otherwise.
    """
    candidates = [Path(os.environ[PRISM_ENV])] if os.environ.get(PRISM_ENV) else []
    candidates.append(REPO / ".venv" / "prism" / "prism")
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path.resolve()
    if shutil.which("go") is None:
        pytest.skip("Go is absent, so Prism cannot be built on this machine")
    pytest.fail(
        f"Prism is not built ({', '.join(map(str, candidates))} missing): run scripts/setup_env.sh, "
        "which builds it with go install when Go is present"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_grpc(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        try:
            grpc.channel_ready_future(channel).result(timeout=1)
            return
        except grpc.FutureTimeoutError:
            continue
        finally:
            channel.close()
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    """Stop a server and everything it started, by its process group id."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)


def venv_env() -> dict[str, str]:
    """The environment for processes that start Python workers: this interpreter's folder first on
    PATH (a worker pool starts workers with the ``python`` it finds there)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return env


@dataclass
class Cluster:
    """A standalone Prism job server and an SDK worker pool, as Beam runs on Flink under Kubernetes."""

    job_port: int
    pool_port: int
    server: subprocess.Popen
    pool: subprocess.Popen

    @property
    def pipeline_args(self) -> list[str]:
        return [
            "--runner",
            "PortableRunner",
            "--job_endpoint",
            f"localhost:{self.job_port}",
            "--environment_type",
            "EXTERNAL",
            "--environment_config",
            f"localhost:{self.pool_port}",
        ]

    def sdk_workers(self) -> list[int]:
        """Process ids of the SDK workers the pool has started (``python -c "...SdkHarness(...).run()"``)."""
        return [pid for pid in descendants(self.pool.pid) if "SdkHarness(" in cmdline(pid)]


@contextmanager
def cluster(log_dir: Path) -> Iterator[Cluster]:
    prism = prism_binary()
    job_port, pool_port = free_port(), free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "prism.log", "wb") as server_log, open(log_dir / "pool.log", "wb") as pool_log:
        server = subprocess.Popen(
            [str(prism), "--job_port", str(job_port), "--serve_http=false"],
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        pool = subprocess.Popen(
            [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={pool_port}"],
            stdout=pool_log,
            stderr=subprocess.STDOUT,
            env=venv_env(),
            start_new_session=True,
        )
        try:
            wait_for_grpc(job_port, server)
            wait_for_grpc(pool_port, pool)
            yield Cluster(job_port, pool_port, server, pool)
        finally:
            stop(pool)
            stop(server)
