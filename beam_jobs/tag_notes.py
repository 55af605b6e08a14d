"""The nightly job: Parquet notes in, entity and rejects tables plus summary.json out.

``python -m beam_jobs.tag_notes --input GLOB [--input GLOB ...] --output DIR [--model PATH]
[--passthrough COL,COL] [job options] [Beam pipeline options]``

Before any worker starts it checks every input file's footer, the model folder and the output
folder. Per-row faults never stop the job: such rows go to the rejects table with a reason. The
output is published only if every row read is accounted for, the rows read match the files'
footers, and no more than ``--max-failed-fraction`` of the notes failed in inference.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import apache_beam as beam
import grpc
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.runner import PipelineState

from beam_jobs.engine import check_job_endpoint, engine_failed, prism_arguments, runner_name
from beam_jobs.pipeline import build
from job_core.config import JobConfig, parse_args
from job_core.failures import EngineFailed
from job_core.launch import cli_main, finish, prepare, unpublished
from job_core.progress import ProgressMonitor, progress_folder

log = logging.getLogger("beam_jobs.tag_notes")


def default_runner(options: PipelineOptions):
    """FnApiRunner unless --runner is given: it runs offline (DirectRunner first tries Prism)."""
    if options.view_as(StandardOptions).runner:
        return None
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    return FnApiRunner()


def run(argv: Sequence[str] | None = None, test_pipeline: beam.Pipeline | None = None, handler=None) -> dict:
    """Check inputs, run the pipeline, publish the output; return the summary.

    Raises:
        SchemaError: an input glob matches nothing or a file's schema is unusable.
        FileNotFoundError, ValueError: a bad model path or option.

    ``handler`` replaces the model handler (tests use a fake tagger).
    """
    config, pipeline_args = parse_args(argv)
    return run_config(config, pipeline_args, test_pipeline, handler)


def run_config(
    config: JobConfig, pipeline_args: Sequence[str], test_pipeline: beam.Pipeline | None = None, handler=None
) -> dict:
    """``run`` with the job's options already parsed (``pipeline_args`` go to Beam)."""
    run = prepare(config, check_codes=handler is None)
    options = PipelineOptions(prism_arguments(list(pipeline_args)))
    check_job_endpoint(options)
    p = test_pipeline if test_pipeline is not None else beam.Pipeline(runner=default_runner(options), options=options)
    build(p, run, handler)
    with unpublished(run):
        with ProgressMonitor(progress_folder(run.staging), run.plan.rows):
            try:
                state = p.run().wait_until_finish()
            except (RuntimeError, grpc.RpcError) as err:  # what portable runners raise for a failed job
                raise engine_failed(err, run.layout.run_id, options) from None
        if state not in (None, PipelineState.DONE):
            raise EngineFailed(f"the runner ended the job in state {state}; nothing published")
        return finish(run, runner=runner_name(options) or "fnapirunner (default)")


def main(argv: Sequence[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
