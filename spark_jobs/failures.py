"""A failed Spark job said in one line (``job_core.failures``): what Spark's messages mean.

Spark reports a failed job as a Py4J error whose message holds the last failure of the task that
failed too often, including the Python worker's traceback. The user is told the cause and how
often the task was tried; the whole message goes to the run's detail log.
"""

from __future__ import annotations

import re

from job_core.failures import EngineFailed, cause, detail_log

CAUSES = [
    # Our own errors raised inside a worker carry no note data: their message is the cause.
    (re.compile(r"ModelVersionError: ([^\n\[]{1,300})"), "a worker refused the model: {0}"),
    (
        re.compile(r"No module named '?([\w.]+)", re.I),
        "the executors lack the Python module {0} (set PYSPARK_PYTHON to a Python that has the project installed)",
    ),
    (re.compile(r"Python worker exited unexpectedly|crashed", re.I), "a Python worker crashed"),
    (re.compile(r"ExecutorLostFailure|executor \S+ (lost|exited)", re.I), "an executor was lost"),
    (re.compile(r"(\w+(?:Error|Exception)): ", re.M), "a task raised {0}"),
]
TRIES = re.compile(r"Task \S+ in stage \S+ failed (\d+) times")


def spark_cause(err: BaseException) -> str:
    """The cause of a failed job from the part of Spark's message after its "most recent failure"
    (the task's own error), with how many times the task was tried."""
    text = str(err)
    recent = text.split("most recent failure", 1)[-1]
    said = cause(err, CAUSES, "the cluster", text=recent)
    tries = TRIES.search(text)
    return said + (f" (the task was tried {tries.group(1)} times)" if tries else "")


def engine_failed(err: BaseException, run_id: str) -> EngineFailed:
    """The one-line error for a failed Spark job; the detail is logged to a file first."""
    path = detail_log(run_id, err)
    return EngineFailed(f"Spark failed the job: {spark_cause(err)}; nothing published (detail: {path})")
