"""The runner the job goes to: checked before any worker starts, and its failures said in one line.

On a cluster the pipeline goes to a runner in another process (Prism, Flink, Spark, Dataflow)
over gRPC, and a failure comes back as a long gRPC or runner message, sometimes with a Go panic
stack from the runner. The user gets one ``error:`` line that names the cause
(``EngineFailed``); the full detail goes to a log file whose path the line gives.
"""

from __future__ import annotations

import logging
import os
import re

import grpc
from apache_beam.options.pipeline_options import PipelineOptions, PortableOptions, StandardOptions

from job_core.failures import EngineFailed, cause, detail_log

log = logging.getLogger("beam_jobs.engine")
PORTABLE_RUNNERS = ("portablerunner", "flinkrunner", "sparkrunner", "prismrunner")
CONNECT_SECONDS = 10.0
PRISM_ENV = "NERCORE_PRISM"  # a Prism binary to use for --runner PrismRunner without --prism_location


def runner_name(options: PipelineOptions) -> str:
    runner = options.view_as(StandardOptions).runner
    return (runner if isinstance(runner, str) else type(runner).__name__ if runner else "").lower()


def job_endpoint(options: PipelineOptions) -> str | None:
    """The job server the pipeline will be submitted to, when it is a separate process."""
    endpoint = options.view_as(PortableOptions).job_endpoint
    if runner_name(options) in PORTABLE_RUNNERS and endpoint and endpoint != "embed":
        return endpoint
    return None


def check_job_endpoint(options: PipelineOptions, timeout: float = CONNECT_SECONDS) -> None:
    """Fail before anything is submitted when ``--job_endpoint`` does not answer.

    Raises:
        EngineFailed: no gRPC server answers at the endpoint within ``timeout`` seconds.
    """
    endpoint = job_endpoint(options)
    if endpoint is None:
        return
    channel = grpc.insecure_channel(endpoint)
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise EngineFailed(f"cannot reach the job server at {endpoint}") from None
    finally:
        channel.close()


def prism_arguments(pipeline_args: list[str], environ: dict[str, str] | None = None) -> list[str]:
    """``pipeline_args`` with ``--prism_location $NERCORE_PRISM`` added for ``--runner PrismRunner``
    when no location is given (Beam would otherwise download a release binary from the network)."""
    environ = os.environ if environ is None else environ
    options = PipelineOptions(pipeline_args)
    binary = environ.get(PRISM_ENV)
    given = any(a == "--prism_location" or a.startswith("--prism_location=") for a in pipeline_args)
    if runner_name(options) == "prismrunner" and binary and not given:
        return [*pipeline_args, "--prism_location", binary]
    return list(pipeline_args)


# What the runners say, and the cause the user is told (first match wins).
CAUSES = [
    # Our own errors raised inside a worker carry no note data: their message is the cause.
    (re.compile(r"ModelVersionError: ([^\n\[]{1,300})"), "a worker refused the model: {0}"),
    (re.compile(r"failed to connect to all addresses|connection refused|Connect Failed", re.I), "cannot reach {what}"),
    (
        re.compile(r"No module named '?([\w.]+)", re.I),
        "the SDK workers lack the Python module {0} (install the project where the worker pool runs)",
    ),
    (
        re.compile(r"didn't get control connection .* after (\w+)", re.I),
        "no SDK worker connected within {0} (does the worker pool start workers with a Python that has the project "
        "installed? It uses the python first on its PATH)",
    ),
    (
        re.compile(
            r"(SDK worker|worker) .*(disconnected|died|exited|terminated|killed)|send on closed channel|"
            r"Stream removed|EOF|Socket closed|worker.*crash",
            re.I,
        ),
        "an SDK worker disconnected",
    ),
    (re.compile(r"DEADLINE_EXCEEDED|timed out|timeout", re.I), "the runner timed out"),
]


def runner_cause(err: BaseException, endpoint: str | None = None) -> str:
    """``failures.cause`` with a Beam runner's patterns."""
    return cause(err, CAUSES, f"the job server at {endpoint}" if endpoint else "the runner")


def engine_failed(err: BaseException, run_id: str, options: PipelineOptions) -> EngineFailed:
    """The one-line error for a runner failure; the detail is logged to a file first."""
    path = detail_log(run_id, err)
    log.debug("runner failure of run %s: detail in %s", run_id, path)
    return EngineFailed(
        f"the runner failed the job: {runner_cause(err, job_endpoint(options))}; nothing published (detail: {path})"
    )
