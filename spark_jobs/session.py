"""The job's own SparkSession: loopback-only when local, quiet on the console, its logs in a file.

Spark prints a console progress bar, routine WARN lines (native-hadoop, incubator modules) and
opens web UIs by default. The job's session turns the bar and the UI off (``--conf`` can turn
the UI back on), and starts the driver's JVM with its stdout and stderr going to a log file of
the run, which also catches what the local Python workers print. Under ``spark-submit`` or in a
notebook the JVM already runs; the session is taken as it is.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pyspark import SparkConf, SparkContext
from pyspark.java_gateway import launch_gateway
from pyspark.sql import SparkSession

from job_core.failures import LOG_FOLDER

log = logging.getLogger("spark_jobs.session")
APP_NAME = "clinical-ner"
DEFAULT_MASTER = "local[*]"
# The job's defaults; ``--conf`` overrides any of them.
DEFAULT_CONF = {
    "spark.ui.showConsoleProgress": "false",
    "spark.ui.enabled": "false",
    "spark.python.worker.reuse": "true",
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def under_spark_submit() -> bool:
    """True when ``spark-submit`` started this Python (the JVM already runs and owns the master)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def is_loopback(master: str) -> bool:
    if master.startswith("local"):
        return True
    host = master.split("://", 1)[-1].split(":", 1)[0]
    return host in LOOPBACK_HOSTS


def session_conf(master: str | None, conf: Mapping[str, str]) -> SparkConf:
    out = SparkConf().setAppName(APP_NAME)
    if master is not None:
        out.setMaster(master)
        if is_loopback(master):  # the driver listens on loopback only, like the master it talks to
            out.set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
    for key, value in {**DEFAULT_CONF, **conf}.items():
        out.set(key, value)
    return out


def log_path(run_name: str) -> Path:
    folder = Path(tempfile.gettempdir()) / LOG_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"spark-{run_name}.log"


def start_session(master: str | None, conf: Mapping[str, str], log_file: Path) -> SparkSession:
    """A new SparkSession whose JVM writes its console output to ``log_file``; under
    ``spark-submit``, the running one (``master`` is then spark-submit's)."""
    spark_conf = session_conf(None if under_spark_submit() else master, conf)
    if under_spark_submit() or SparkContext._active_spark_context is not None:
        return SparkSession.builder.config(conf=spark_conf).getOrCreate()
    if master is not None and is_loopback(master):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the JVM then never looks up another interface
        # Python workers on this machine run this Python, which has the project. PySpark's own
        # default is whatever "python3" comes first on PATH: a virtualenv used without activating
        # it then failed every task. (SparkContext reads the variable, not spark.pyspark.python.)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    with open(log_file, "ab") as sink:
        gateway = launch_gateway(spark_conf, popen_kwargs={"stdout": sink, "stderr": sink})
    context = SparkContext(conf=spark_conf, gateway=gateway)
    context.setLogLevel("WARN")
    log.info("Spark %s, master %s (Spark's log: %s)", context.version, context.master, log_file)
    return SparkSession(context)
