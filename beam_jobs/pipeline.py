"""The job's Beam pipeline: work items → checked, tagged rows → the tables' files, their list and the counts.

Everything a Beam worker unpickles lives here (transforms, DoFns, the combine), so that a worker
imports the pipeline and the core it needs, never the launcher's modules (the report's charts, the
warehouse client): ``beam_jobs.tag_notes`` is the launcher.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import RunInference
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

import job_core
from beam_jobs.handler import METRICS_NAMESPACE, TaggerModelHandler
from beam_jobs.writer import WriteTable
from job_core.commit import record_written
from job_core.config import JobConfig
from job_core.inference import tagger_spec
from job_core.inputs import BatchReader
from job_core.known import KnownNotesFile
from job_core.note_batch import NOTE_BATCH_CHARS, NoteBatch
from job_core.notes import duplicate_verdicts, route_batch, valid_row_keys
from job_core.outputs import COUNTS_FILE, write_json
from job_core.progress import WorkerProgress, progress_folder
from job_core.summary import count_reject, merge_counts
from job_core.tables import TaskTables
from schemas import entity_schema

if TYPE_CHECKING:
    from job_core.launch import Run

# Bytes of Arrow rows a table writer buffers before it writes a row group.
WRITE_BUFFER_BYTES = 16 << 20


class ReadAndCheck(beam.DoFn):
    """A work item → its rows, routed in batches: NoteBatches of taggable notes, and rejects with their reasons.

    ``verdicts`` (a side input) maps the (source_file, row) of every duplicate not to be tagged
    to its reject row, which the verdict step emits itself: such rows are dropped here. Reading
    happens here, after the verdicts exist, so that no runner has to hold rows until then
    (a runner may fuse this step with its siblings, and then it would).
    """

    def __init__(
        self,
        read_batches: Callable[[object], Iterable[NoteBatch]],
        max_chars: int,
        batch_chars: int = NOTE_BATCH_CHARS,
        known: KnownNotesFile | None = None,
    ):
        self._read_batches = read_batches
        self._max_chars = max_chars
        self._batch_chars = batch_chars
        self._known_file = known  # an incremental night's known notes, loaded once per worker process
        self._read = Metrics.counter(METRICS_NAMESPACE, "notes_read")

    def setup(self) -> None:
        self._known = self._known_file.get() if self._known_file is not None else None

    def process(self, item, verdicts: dict):
        n = unchanged = 0
        for batch in self._read_batches(item):
            n += len(batch)
            routed = route_batch(batch, self._max_chars, verdicts, self._batch_chars, self._known)
            for row in routed.rejects:
                yield TaggedOutput("reject", row)
            yield from routed.batches
            unchanged += routed.unchanged
        self._read.inc(n)
        yield TaggedOutput("counts", {"notes_read": n, "notes_unchanged": unchanged})


def default_entity_schema(passthrough: Sequence[str]) -> pa.Schema:
    """The entity schema with string passthrough columns (for ``TagNotes`` used without a plan)."""
    return entity_schema([pa.field(name, pa.string()) for name in passthrough])


class ToEntityBatches(beam.DoFn):
    """(NoteBatch, BatchTags) → entity and code record batches, plus one count record per bundle;
    a failed note → a reject (``job_core.tables.TaskTables``: no dict and no Beam element per entity)."""

    def __init__(
        self,
        passthrough: Sequence[str],
        model_name: str,
        pipeline_version: str,
        entity_schema: pa.Schema,
        progress: str | None = None,
    ):
        self._args = (tuple(passthrough), model_name, pipeline_version, entity_schema)
        self._progress_folder = progress  # where this worker reports its count (job_core.progress)

    def setup(self) -> None:
        names = ("notes_tagged", "entities", "windows", "tokens")
        self._metrics = {name: Metrics.counter(METRICS_NAMESPACE, name) for name in names}
        self._progress = WorkerProgress.for_folder(self._progress_folder) if self._progress_folder else None

    def start_bundle(self) -> None:
        self._tables = TaskTables(*self._args)

    def process(self, item):
        notes, tags = item
        for row in self._tables.add(notes, tags):
            yield TaggedOutput("reject", row)
        if self._progress is not None:
            self._progress.add(len(notes))
        for table, batch in self._tables.full():
            yield batch if table == "entities" else TaggedOutput(table, batch)

    def finish_bundle(self):
        if self._progress is not None:
            self._progress.add(0, force=True)
        window, timestamp = [GlobalWindow()], GlobalWindow().max_timestamp()
        for table, batch in self._tables.rest():
            value = WindowedValue(batch, timestamp, window)
            yield value if table == "entities" else TaggedOutput(table, value)
        record = self._tables.counts()
        if record is not None:
            for name, metric in self._metrics.items():
                metric.inc(record[name])
            for entity_type, n in record["entities_by_type"].items():
                Metrics.counter(METRICS_NAMESPACE, f"entities_{entity_type}").inc(n)
            yield TaggedOutput("counts", WindowedValue(record, timestamp, window))


class MergeCounts(beam.CombineFn):
    """Sums the count records (``job_core.summary.merge_counts``)."""

    def create_accumulator(self) -> dict:
        return {}

    def add_input(self, accumulator: dict, element: dict) -> dict:
        return merge_counts(accumulator, element)

    def merge_accumulators(self, accumulators) -> dict:
        out: dict = {}
        for a in accumulators:
            out = merge_counts(out, a)
        return out

    def extract_output(self, accumulator: dict) -> dict:
        return accumulator


def counted_reject(row: dict) -> dict:
    Metrics.counter(METRICS_NAMESPACE, "notes_rejected").inc()
    return count_reject(row)


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
        known: KnownNotesFile | None = None,
    ):
        super().__init__()
        self._known = known
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
            ReadAndCheck(read_batches, max_chars, known=self._known), beam.pvalue.AsDict(verdicts)
        ).with_outputs("reject", "counts", main="note")
        tagged = (
            checked.note
            | "Tag" >> RunInference(self._handler)
            | "ToRows"
            >> beam.ParDo(
                ToEntityBatches(
                    self._passthrough, self._model_name, job_core.__version__, self._entity_schema, self._progress
                )
            ).with_outputs("reject", "counts", "codes", "notes", "note_codes", main="entity")
        )
        duplicates = verdicts | "DuplicateRejects" >> beam.Map(lambda verdict: verdict[1])
        rejects = (checked.reject, duplicates, tagged.reject) | "AllRejects" >> beam.Flatten()
        reject_counts = rejects | "CountRejects" >> beam.Map(counted_reject)
        counts = (
            (checked.counts, reject_counts, tagged.counts)
            | "AllCounts" >> beam.Flatten()
            | "Sum" >> beam.CombineGlobally(MergeCounts())
        )
        return {
            "entities": tagged.entity,
            "codes": tagged.codes,
            "notes": tagged.notes,
            "note_codes": tagged.note_codes,
            "rejects": rejects,
            "counts": counts,
        }


def make_handler(config: JobConfig, model_version: str) -> TaggerModelHandler:
    return TaggerModelHandler(
        spec=tagger_spec(config, model_version),
        max_batch_chars=config.max_batch_chars,
        large_model=config.large_model,
        model_copies=config.model_copies,
    )


def build(p: beam.Pipeline, run: Run, handler=None) -> None:
    """Add the job's transforms to a pipeline: read, tag, write the tables' files and the list of
    the files that successful bundles wrote (``job_core.launch.finish`` commits them afterwards,
    on the launcher)."""
    staging, schemas = run.staging, run.schemas
    items = p | "WorkItems" >> beam.Create(list(run.plan.items)) | "Spread" >> beam.Reshuffle()
    tag = TagNotes(
        handler or make_handler(run.config, run.model.version),
        run.config.max_note_chars,
        run.passthrough,
        run.model.name,
        BatchReader(run.columns),
        schemas["entities"],
        progress_folder(staging),
        KnownNotesFile(run.known) if run.known else None,
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
