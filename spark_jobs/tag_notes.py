"""The nightly job on Apache Spark: the same tables, summary and publish gate as the Beam job.

Three ways to run it::

    python -m spark_jobs.tag_notes --input GLOB --output DIR [--master URL] [--conf K=V ...] [job options]
    spark-submit --master URL spark_jobs/tag_notes.py --input GLOB --output DIR [job options]
    tag_notes(spark, "notes/*.parquet", "out/", passthrough=("patient_id",))   # a notebook's session

The job's options are the Beam job's (``job_core.config``). The driver checks every input file's
footer, the model and the output folder before any executor starts; each work item is one task,
which reads its rows itself (no note text goes through Spark's JVM or a shuffle: the duplicate rule
groups small keys only), tags them with the model its Python worker loaded once, and writes
attempt-unique files. The driver then commits exactly the files that the successful attempt of
each task returned, and publishes through the same gate as every engine (``job_core.launch``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from functools import partial

from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

import job_core
from job_core.commit import record_written
from job_core.config import JobConfig, build_parser, config_from_args
from job_core.inference import tagger_spec
from job_core.known import KnownNotesFile
from job_core.launch import Run, cli_main, finish, prepare, unpublished
from job_core.notes import duplicate_verdicts
from job_core.outputs import COUNTS_FILE, write_json
from job_core.progress import ProgressMonitor, progress_folder
from job_core.summary import count_reject, merge_counts
from job_core.table_files import TableFileWriter
from spark_jobs.failures import engine_failed
from spark_jobs.session import DEFAULT_MASTER, log_path, start_session, under_spark_submit
from spark_jobs.tasks import TaskJob, item_keys, tag_items

log = logging.getLogger("spark_jobs.tag_notes")
SPARK_HELP = (
    "Spark options: --master URL (default local[*]; under spark-submit, spark-submit's) and --conf KEY=VALUE "
    "(repeatable)."
)


def build_spark_parser() -> argparse.ArgumentParser:
    p = build_parser(prog="python -m spark_jobs.tag_notes", engine_help=SPARK_HELP)
    p.add_argument("--master", default=None, help="Spark master URL (default: local[*])")
    p.add_argument(
        "--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting, e.g. spark.executor.cores=4"
    )
    return p


def parse_conf(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected --conf KEY=VALUE, got {pair!r}")
        out[key.strip()] = value
    return out


def check_spark_config(config: JobConfig) -> None:
    """Refuse the Beam-only options rather than ignore them."""
    if config.large_model or config.model_copies is not None:
        raise ValueError(
            "--large-model and --model-copies are Beam options; on Spark the model loads once per Python worker "
            "(size executors with spark.executor.cores and spark.task.cpus)"
        )


def duplicate_rejects(spark: SparkSession, run: Run) -> dict[tuple[str, int], dict]:
    """The duplicate rule over every valid row's small key (id, content hash, position), grouped by
    Spark: ``(source_file, row) → reject row`` for each row not to be tagged (usually few)."""
    items = list(run.plan.items)
    if not items:
        return {}
    keys = spark.sparkContext.parallelize(items, len(items)).mapPartitions(
        partial(item_keys, columns=run.columns, max_chars=run.config.max_note_chars)
    )
    verdicts = keys.groupByKey().flatMap(lambda kv: duplicate_verdicts(kv[0], kv[1]))
    return dict(verdicts.collect())


def task_job(run: Run, spec) -> TaskJob:
    return TaskJob(
        spec=spec,
        staging=run.staging,
        progress=progress_folder(run.staging),
        schemas=tuple(run.schemas.items()),
        columns=run.columns,
        model_name=run.model.name,
        pipeline_version=job_core.__version__,
        max_note_chars=run.config.max_note_chars,
        max_batch_chars=run.config.max_batch_chars,
        known=KnownNotesFile(run.known) if run.known else None,
    )


def write_duplicate_rejects(run: Run, rejects: list[dict]) -> tuple[list[str], dict]:
    """The duplicate rule's reject rows, written by the driver: (files, counts)."""
    writer = TableFileWriter(run.staging, "rejects", run.schemas["rejects"])
    counts: dict = {}
    for row in sorted(rejects, key=lambda r: (r["source_file"], str(r["note_id"]))):
        writer.add(row)
        counts = merge_counts(counts, count_reject(row))
    path = writer.close()
    return ([path] if path else []), counts


def run_on(spark: SparkSession, config: JobConfig, spec=None) -> dict:
    """Run the job on an existing session; the summary. ``spec`` replaces the tagger's settings
    (tests pass a picklable stand-in whose ``load()`` returns a fake tagger).

    Raises:
        SchemaError, FileNotFoundError, ValueError: bad input, model or option (before any task).
        RunFailed: Spark failed the job (``EngineFailed``), or the publish gate refused the run.
    """
    check_spark_config(config)
    return run_prepared(spark, prepare(config, check_codes=spec is None), spec)


def run_prepared(spark: SparkSession, run: Run, spec=None) -> dict:
    """``run_on`` after ``job_core.launch.prepare``: tag on Spark, commit, gate, publish."""
    spec = spec if spec is not None else tagger_spec(run.config, run.model.version)
    context = spark.sparkContext
    with unpublished(run):
        with ProgressMonitor(progress_folder(run.staging), run.plan.rows):
            try:
                verdicts = duplicate_rejects(spark, run)
                skip = context.broadcast(frozenset(verdicts))
                items = list(run.plan.items)
                tag = partial(tag_items, job=task_job(run, spec), skip=skip)
                results = context.parallelize(items, len(items)).mapPartitions(tag).collect() if items else []
            except (Py4JError, PySparkException) as err:
                raise engine_failed(err, run.layout.run_id) from None
        written, counts = write_duplicate_rejects(run, list(verdicts.values()))
        counts.setdefault("notes_read", 0)
        for result in results:
            written += result["files"]
            counts = merge_counts(counts, result["counts"])
        loads, workers = counts.pop("model_loads", 0), len({r["pid"] for r in results})
        log.info("model loaded %d times, in %d Python worker processes, for %d tasks", loads, workers, len(results))
        record_written(run.staging, written)
        write_json(f"{run.staging}/{COUNTS_FILE}", counts)
        facts = {"master": context.master, "tasks": len(results), "model_loads": loads, "python_workers": workers}
        return finish(run, runner=f"spark ({context.master})", extra={"spark": facts})


def tag_notes(spark: SparkSession, inputs: str | Sequence[str], output: str, **options) -> dict:
    """The job on a notebook's session: ``inputs`` (globs), ``output`` (folder) and any
    ``JobConfig`` field as a keyword (``passthrough=("patient_id",)``, ``codes=False``, ...);
    the summary."""
    inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
    return run_on(spark, JobConfig(inputs=inputs, output=output, **options))


def run(argv: Sequence[str] | None = None, spec=None) -> dict:
    """Parse the command line, start a session (or take spark-submit's), run, stop the session."""
    args = build_spark_parser().parse_args(argv)
    config = config_from_args(args)
    conf = parse_conf(args.conf)
    check_spark_config(config)
    run = prepare(config, check_codes=spec is None)  # every check before the session starts
    master = args.master or (None if under_spark_submit() else DEFAULT_MASTER)
    spark = start_session(master, conf, log_path(run.layout.run_id))
    try:
        return run_prepared(spark, run, spec)
    finally:
        spark.stop()


def main(argv: Sequence[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
