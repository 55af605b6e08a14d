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
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import apache_beam as beam
import grpc
import pyarrow as pa
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.pvalue import TaggedOutput
from apache_beam.runners.runner import PipelineState
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

import beam_jobs
from beam_jobs.config import JobConfig, parse_args
from beam_jobs.engine import EngineFailed, check_job_endpoint, engine_failed, prism_arguments, runner_name
from beam_jobs.handler import METRICS_NAMESPACE, TaggerModelHandler
from beam_jobs.inputs import BatchReader, Columns, InputPlan, plan_inputs
from beam_jobs.note_batch import NOTE_BATCH_CHARS, NoteBatch
from beam_jobs.notes import batch_faults, duplicate_verdicts, reject, row_keys
from beam_jobs.outputs import COUNTS_FILE, OutputLayout, check_output_folder, delete_tree, discard, publish, write_json
from beam_jobs.progress import ProgressMonitor, WorkerProgress, progress_folder
from beam_jobs.review import review
from beam_jobs.rows import TableColumns, add_entities
from beam_jobs.run_stats import RunStats
from beam_jobs.summary import MergeCounts, RunFailed, count_reject, format_summary, summarise
from beam_jobs.writer import WriteTable, commit_run, record_written
from nercore.codes.index import check_index, default_index
from nercore.sources import folder_version, resolve_model_folder
from nercore.tagging.model import read_settings
from schemas import CODES_SCHEMA, REJECT_SCHEMA, SchemaError, entity_schema

log = logging.getLogger("beam_jobs.tag_notes")
# Bytes of Arrow rows a table writer buffers before it writes a row group.
WRITE_BUFFER_BYTES = 16 << 20


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


class ReadAndCheck(beam.DoFn):
    """A work item → its rows, routed in batches: NoteBatches of taggable notes, and rejects with their reasons.

    ``verdicts`` (a side input) maps the (source_file, row) of every duplicate not to be tagged
    to its reject row, which the verdict step emits itself: such rows are dropped here. Reading
    happens here, after the verdicts exist, so that no runner has to hold rows until then
    (a runner may fuse this step with its siblings, and then it would).
    """

    def __init__(
        self, read_batches: Callable[[object], Iterable[NoteBatch]], max_chars: int, batch_chars: int = NOTE_BATCH_CHARS
    ):
        self._read_batches = read_batches
        self._max_chars = max_chars
        self._batch_chars = batch_chars
        self._read = Metrics.counter(METRICS_NAMESPACE, "notes_read")

    def process(self, item, verdicts: dict):
        n = 0
        for batch in self._read_batches(item):
            n += len(batch)
            keep = []
            for i, reason in enumerate(batch_faults(batch, self._max_chars)):
                if reason is not None:
                    yield TaggedOutput("reject", reject(batch.note_ids[i], reason, batch.source_file))
                elif not verdicts or (batch.source_file, batch.rows[i]) not in verdicts:
                    keep.append(i)
            yield from batch.split(keep, self._batch_chars)
        self._read.inc(n)
        yield TaggedOutput("counts", {"notes_read": n})


def valid_row_keys(batches: Iterable[NoteBatch], max_chars: int):
    """``row_keys`` of every batch (the duplicate rule's input)."""
    for batch in batches:
        yield from row_keys(batch, max_chars)


def default_entity_schema(passthrough: Sequence[str]) -> pa.Schema:
    """The entity schema with string passthrough columns (for ``TagNotes`` used without a plan)."""
    return entity_schema([pa.field(name, pa.string()) for name in passthrough])


class ToEntityBatches(beam.DoFn):
    """(NoteBatch, results) → entity and code record batches, plus one count record per bundle;
    a failed note → a reject.

    Entities are gathered column by column (``rows.TableColumns``) and leave as Arrow record
    batches of ``BATCH_ROWS`` rows (and the rest at the bundle's end): no dict per entity, no Beam
    element per entity, no count record per note.
    """

    BATCH_ROWS = 8192

    def __init__(
        self,
        passthrough: Sequence[str],
        model_name: str,
        pipeline_version: str,
        entity_schema: pa.Schema,
        progress: str | None = None,
    ):
        self._passthrough = tuple(passthrough)
        self._model_name = model_name
        self._pipeline_version = pipeline_version
        self._entity_schema = entity_schema
        self._progress_folder = progress  # where this worker reports its count (beam_jobs.progress)

    def setup(self) -> None:
        names = ("notes_tagged", "entities", "windows", "tokens")
        self._metrics = {name: Metrics.counter(METRICS_NAMESPACE, name) for name in names}
        self._progress = WorkerProgress.for_folder(self._progress_folder) if self._progress_folder else None

    def start_bundle(self) -> None:
        self._entities = TableColumns(self._entity_schema, self._passthrough)
        self._codes = TableColumns(CODES_SCHEMA)
        self._counts = Counter()
        self._precision = Counter()
        self._stats = RunStats()  # also the counts by type and by negation (summary.json keeps both)

    def process(self, item):
        notes, results = item
        tagged = [r for r in results if not isinstance(r, str)]
        for i, result in enumerate(results):
            if isinstance(result, str):
                yield TaggedOutput("reject", reject(notes.note_ids[i], result, notes.source_file))
        coded = add_entities(
            self._entities, self._codes, notes, results, self._passthrough, self._model_name, self._pipeline_version
        )
        self._stats.add(notes.texts, results)
        self._precision.update(result.precision or "unknown" for result in tagged)
        self._counts.update(
            {
                "notes_tagged": len(tagged),
                "entities": sum(len(r.entities) for r in tagged),
                "entities_with_code": coded,
                "windows": sum(r.windows for r in tagged),
                "tokens": sum(r.tokens for r in tagged),
            }
        )
        if self._progress is not None:
            self._progress.add(len(notes))
        if len(self._entities) >= self.BATCH_ROWS:
            yield self._entities.take()
        if len(self._codes) >= self.BATCH_ROWS:
            yield TaggedOutput("codes", self._codes.take())

    def finish_bundle(self):
        if self._progress is not None:
            self._progress.add(0, force=True)
        window, timestamp = [GlobalWindow()], GlobalWindow().max_timestamp()
        if len(self._entities):
            yield WindowedValue(self._entities.take(), timestamp, window)
        if len(self._codes):
            yield TaggedOutput("codes", WindowedValue(self._codes.take(), timestamp, window))
        if self._counts:
            for name, metric in self._metrics.items():
                metric.inc(self._counts[name])
            by_type = self._stats.entities_by_type()
            for entity_type, n in by_type.items():
                Metrics.counter(METRICS_NAMESPACE, f"entities_{entity_type}").inc(n)
            record = {
                k: self._counts[k] for k in ("notes_tagged", "entities", "entities_with_code", "windows", "tokens")
            }
            record["entities_by_type"] = by_type
            record["entities_by_negation"] = self._stats.entities_by("negation")
            record["notes_by_precision"] = dict(self._precision)
            record["stats"] = self._stats.as_record()
            yield TaggedOutput("counts", WindowedValue(record, timestamp, window))


class TagNotes(beam.PTransform):
    """Work items → {"entities": entity record batches, "codes": code record batches, "rejects": reject
    rows, "counts": count records}.

    The routing logic of the job, free of file formats: ``read_batches`` turns a work item into
    NoteBatches (``inputs.item_batches``; tests build them from rows with
    ``note_batch.batches_from_rows``). Each item is read twice: once for the
    small keys the duplicate rule groups, once to tag, so no note text is ever grouped or held
    beyond the batch being tagged.
    """

    def __init__(
        self,
        handler,
        max_note_chars: int,
        passthrough: Sequence[str],
        model_name: str,
        read_batches: Callable[[object], Iterable[NoteBatch]],
        entity_schema: pa.Schema | None = None,
        progress: str | None = None,
    ):
        super().__init__()
        self._progress = progress
        self._entity_schema = entity_schema if entity_schema is not None else default_entity_schema(passthrough)
        self._handler = handler
        self._max_note_chars = max_note_chars
        self._passthrough = tuple(passthrough)
        self._model_name = model_name
        self._read_batches = read_batches

    def expand(self, items):
        read_batches, max_chars = self._read_batches, self._max_note_chars
        verdicts = (
            items
            | "Keys" >> beam.FlatMap(lambda item: valid_row_keys(read_batches(item), max_chars))
            | "GroupById" >> beam.GroupByKey()
            | "Verdicts" >> beam.FlatMap(lambda keyed: duplicate_verdicts(*keyed))
        )
        checked = items | "ReadAndCheck" >> beam.ParDo(
            ReadAndCheck(read_batches, max_chars), beam.pvalue.AsDict(verdicts)
        ).with_outputs("reject", "counts", main="note")
        tagged = (
            checked.note
            | "Tag" >> RunInference(self._handler)
            | "ToRows"
            >> beam.ParDo(
                ToEntityBatches(
                    self._passthrough, self._model_name, beam_jobs.__version__, self._entity_schema, self._progress
                )
            ).with_outputs("reject", "counts", "codes", main="entity")
        )
        duplicates = verdicts | "DuplicateRejects" >> beam.Map(lambda verdict: verdict[1])
        rejects = (checked.reject, duplicates, tagged.reject) | "AllRejects" >> beam.Flatten()
        reject_counts = rejects | "CountRejects" >> beam.Map(count_reject)
        counts = (
            (checked.counts, reject_counts, tagged.counts)
            | "AllCounts" >> beam.Flatten()
            | "Sum" >> beam.CombineGlobally(MergeCounts())
        )
        return {"entities": tagged.entity, "codes": tagged.codes, "rejects": rejects, "counts": counts}


def make_handler(config: JobConfig, model: ModelInfo) -> TaggerModelHandler:
    return TaggerModelHandler(
        config.model,
        device=config.device,
        dtype=config.dtype,
        batch_tokens=config.batch_tokens,
        quantize=config.quantize,
        max_batch_chars=config.max_batch_chars,
        large_model=config.large_model,
        model_copies=config.model_copies,
        expected_version=model.version,
        context=config.context,
        codes=(config.code_index or True) if config.codes else False,
        codes_k=config.codes_k,
    )


def prepare_code_index(code_index: str | None) -> None:
    """Check ``--code-index`` before any worker starts; without it (and without
    ``$NERCORE_CODE_INDEX``), build this machine's cached index now (once per version), so that
    local workers share it instead of each building one."""
    if code_index is None:
        default_index()
    else:
        check_index(code_index)


def table_schemas(plan: InputPlan) -> dict[str, pa.Schema]:
    return {"entities": entity_schema(plan.passthrough), "codes": CODES_SCHEMA, "rejects": REJECT_SCHEMA}


def build(p: beam.Pipeline, config: JobConfig, plan: InputPlan, model: ModelInfo, staging: str, handler=None) -> None:
    """Add the job's transforms to a pipeline: read, tag, write the tables' files and the list of
    the files that successful bundles wrote (``writer.commit`` moves them into place afterwards,
    on the launcher)."""
    names = [f.name for f in plan.passthrough]
    reader = BatchReader(Columns(config.id_column, config.text_column, tuple(names)))
    items = p | "WorkItems" >> beam.Create(list(plan.items)) | "Spread" >> beam.Reshuffle()
    schemas = table_schemas(plan)
    tag = TagNotes(
        handler or make_handler(config, model),
        config.max_note_chars,
        names,
        model.name,
        reader,
        schemas["entities"],
        progress_folder(staging),
    )
    out = items | "TagNotes" >> tag
    written = [
        out[name] | f"Write{name.title()}" >> WriteTable(staging, name, schema, WRITE_BUFFER_BYTES)
        for name, schema in schemas.items()
    ]
    (
        written
        | "AllWritten" >> beam.Flatten()
        | "ListWritten" >> beam.combiners.ToList()
        | "RecordWritten" >> beam.Map(lambda paths: record_written(staging, paths))
    )
    out["counts"] | "WriteCounts" >> beam.Map(lambda counts: write_json(f"{staging}/{COUNTS_FILE}", counts))


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
    plan = plan_inputs(
        config.inputs, Columns(config.id_column, config.text_column, config.passthrough), config.rows_per_item
    )
    model = inspect_model(config.model)
    if config.codes and handler is None:
        prepare_code_index(config.code_index)
    check_output_folder(config.output)
    layout = OutputLayout.create(config.output, config.publish)
    log.info(
        "run %s: %d files, %d rows, %d work items, model %s (%s)",
        layout.run_id,
        len(plan.files),
        plan.rows,
        len(plan.items),
        model.name,
        model.version,
    )
    started = time.time()
    options = PipelineOptions(prism_arguments(list(pipeline_args)))
    check_job_endpoint(options)
    p = test_pipeline if test_pipeline is not None else beam.Pipeline(runner=default_runner(options), options=options)
    build(p, config, plan, model, layout.staging, handler)
    published = False
    try:
        with ProgressMonitor(progress_folder(layout.staging), plan.rows):
            try:
                state = p.run().wait_until_finish()
            except (RuntimeError, grpc.RpcError) as err:  # what portable runners raise for a failed job
                raise engine_failed(err, layout.run_id, options) from None
        if state not in (None, PipelineState.DONE):
            raise EngineFailed(f"the runner ended the job in state {state}; nothing published")
        delete_tree(progress_folder(layout.staging))
        commit_run(layout.staging, table_schemas(plan))
        summary = summarise(
            layout.staging,
            run_id=layout.run_id,
            tables=layout.tables,
            footer_rows=plan.rows,
            input_files=len(plan.files),
            model_name=model.name,
            model_version=model.version,
            batch_tokens=config.batch_tokens,
            max_failed_fraction=config.max_failed_fraction,
            seconds=time.time() - started,
        )
        summary["runner"] = runner_name(options) or "fnapirunner (default)"
        summary = review(summary, config, layout.staging)
        publish(layout)
        published = True
    finally:
        if not published:
            discard(layout)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    # force: a library that logged before this point may have installed Python's default handler.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    for noisy in ("apache_beam", "transformers", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        config, pipeline_args = parse_args(argv)
        summary = run_config(config, pipeline_args)
    except (SchemaError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except RunFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(format_summary(summary, summary["output"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
