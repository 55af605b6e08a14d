"""The launcher's side of a run, the same on every engine: checks before any worker starts, and
after the engine has finished, the one commit, the summary, the publish gate, the review and the
publication.

An engine adapter does ``run = prepare(config)``, runs its pipeline into ``run.layout.staging``
(the tables' files under ``_tmp/``, the successful attempts' list in ``_written.json``, the summed
counts in ``_counts.json``), then ``finish(run, runner=...)`` inside ``with unpublished(run):``,
which deletes the staging folder unless the run was published.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyarrow as pa

from job_core import files
from job_core.commit import commit_run
from job_core.config import JobConfig
from job_core.inputs import Columns, InputPlan, plan_inputs
from job_core.known import KNOWN_FILE
from job_core.outputs import OutputLayout, check_output_folder, discard, publish
from job_core.progress import progress_folder
from job_core.review import review
from job_core.summary import RunFailed, format_summary, summarise
from job_core.warehouse.plan import plan_known
from job_core.warehouse.publish import publish_to_warehouse
from nercore.codes.index import check_index, default_index
from nercore.sources import folder_version, resolve_model_folder
from nercore.tagging.model import read_settings
from schemas import CODES_SCHEMA, NOTE_CODES_SCHEMA, NOTE_STATE_SCHEMA, REJECT_SCHEMA, SchemaError, entity_schema

log = logging.getLogger("job_core.launch")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str


def inspect_model(model: str | None) -> ModelInfo:
    """Resolve and check the model folder on the launcher, so a bad path fails before the pipeline.

    Its content hash is the version every worker must load (``ModelVersionError`` otherwise).
    """
    folder = resolve_model_folder(model)
    settings = read_settings(folder)
    return ModelInfo(settings.model_name(folder), folder_version(folder))


def prepare_code_index(code_index: str | None) -> None:
    """Check ``--code-index`` before any worker starts; without it (and without
    ``$NERCORE_CODE_INDEX``), build this machine's cached index now (once per version), so that
    local workers share it instead of each building one."""
    if code_index is None:
        default_index()
    else:
        check_index(code_index)


def table_schemas(plan: InputPlan) -> dict[str, pa.Schema]:
    return {
        "entities": entity_schema(plan.passthrough),
        "codes": CODES_SCHEMA,
        "notes": NOTE_STATE_SCHEMA,
        "note_codes": NOTE_CODES_SCHEMA,
        "rejects": REJECT_SCHEMA,
    }


@dataclass
class Run:
    """One run being launched: its config, input plan, model and output layout."""

    config: JobConfig
    plan: InputPlan
    model: ModelInfo
    layout: OutputLayout
    started: float = field(default_factory=time.time)
    published: bool = False
    known: str | None = None  # an incremental night's known notes (``job_core.known``), in staging
    incremental: dict | None = None  # what the plan found, for the summary

    @property
    def staging(self) -> str:
        return self.layout.staging

    @property
    def schemas(self) -> dict[str, pa.Schema]:
        return table_schemas(self.plan)

    @property
    def passthrough(self) -> list[str]:
        return [f.name for f in self.plan.passthrough]

    @property
    def columns(self) -> Columns:
        return Columns(self.config.id_column, self.config.text_column, tuple(self.passthrough))


def prepare(config: JobConfig, *, check_codes: bool = True) -> Run:
    """Every check that can fail before a worker starts: the inputs' footers and schemas, the model,
    the code index (``check_codes``; tests with a fake tagger skip it) and the output folder.

    Raises:
        SchemaError: an input glob matches nothing or a file's schema is unusable.
        FileNotFoundError, ValueError: a bad model path or option.
    """
    plan = plan_inputs(
        config.inputs, Columns(config.id_column, config.text_column, config.passthrough), config.rows_per_item
    )
    model = inspect_model(config.model)
    if config.codes and check_codes:
        prepare_code_index(config.code_index)
    check_output_folder(config.output)
    layout = OutputLayout.create(config.output, config.publish, config.run_id)
    log.info(
        "run %s: %d files, %d rows, %d work items, model %s (%s)",
        layout.run_id,
        len(plan.files),
        plan.rows,
        len(plan.items),
        model.name,
        model.version,
    )
    run = Run(config=config, plan=plan, model=model, layout=layout)
    if config.incremental:
        known, run.incremental = plan_known(config.warehouse, config.namespace, model.version, config.run_id)
        run.known = f"{layout.staging}/{KNOWN_FILE}"
        known.save(run.known)
        log.info("incremental: %d notes known with this model's version", len(known))
    return run


@contextmanager
def unpublished(run: Run) -> Iterator[Run]:
    """Delete the run's staging folder on the way out unless ``finish`` published it."""
    try:
        yield run
    finally:
        if not run.published:
            discard(run.layout)


def finish(run: Run, *, runner: str, extra: dict | None = None) -> dict:
    """After the engine has finished: commit the successful attempts' files, summarise, apply the
    publish gate and the drift review, publish; the summary.

    Raises:
        RunFailed: the counts do not reconcile, too many notes failed, or the drift gate refused.
    """
    files.delete_tree(progress_folder(run.staging))
    if run.known is not None:
        files.delete([run.known])
    commit_run(run.staging, run.schemas)
    summary = summarise(
        run.staging,
        run_id=run.layout.run_id,
        tables=run.layout.tables,
        footer_rows=run.plan.rows,
        input_files=len(run.plan.files),
        model_name=run.model.name,
        model_version=run.model.version,
        batch_tokens=run.config.batch_tokens,
        max_failed_fraction=run.config.max_failed_fraction,
        seconds=time.time() - run.started,
    )
    summary["runner"] = runner
    if run.incremental is not None:
        summary["incremental"] = {
            **run.incremental,
            "model_changed": run.incremental["other_model_notes"] > 0 and run.incremental["known_notes"] == 0,
        }
    summary.update(extra or {})
    summary = review(summary, run.config, run.staging)
    publish(run.layout)
    run.published = True
    if run.config.warehouse is not None:  # after the folder: its files are what the warehouse registers
        summary["warehouse"] = publish_to_warehouse(
            run.config,
            run_id=run.layout.run_id,
            tables=run.layout.tables,
            input_files=run.plan.files,
            summary=summary,
            schemas=run.schemas,
        )
    return summary


def configure_logging() -> None:
    # force: a library that logged before this point may have installed Python's default handler.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    for noisy in ("apache_beam", "transformers", "urllib3", "py4j"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def cli_main(run: Callable[[Sequence[str] | None], dict], argv: Sequence[str] | None = None) -> int:
    """An engine's command line: ``run(argv)`` → its summary printed, or one ``error:`` line.

    Exit status: 0 published; 1 the run failed (engine failure, publish gate, drift); 2 bad input,
    model or option, found before any worker started.
    """
    configure_logging()
    try:
        summary = run(argv)
    except (SchemaError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except RunFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(format_summary(summary, summary["output"]))
    return 0
