"""What runs in Spark's Python workers: the duplicate rule's keys of a work item, and a work item
tagged into the tables' files.

The tagger is kept in this module's global (``tagger_for``): Spark reuses its Python workers
(``spark.python.worker.reuse``, the default), so each worker process loads the model once for the
whole run; a function defined in the driver's ``__main__`` would be shipped with each task and
load it once per task. A task writes attempt-unique files (``job_core.table_files``) and returns
their paths with its counts; the driver keeps only what the successful attempt of each task
returned, so a retried or speculative attempt never duplicates a row.
"""

from __future__ import annotations

import os
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import torch
from pyspark import TaskContext
from pyspark.broadcast import Broadcast

from job_core.inference import TaggerSpec, tag_batches
from job_core.inputs import BatchReader, Columns, WorkItem
from job_core.known import KnownNotesFile
from job_core.note_batch import NOTE_BATCH_CHARS, NoteBatch
from job_core.notes import route_batch, valid_row_keys
from job_core.progress import WorkerProgress
from job_core.summary import count_reject, merge_counts
from job_core.table_files import TableFileWriter
from job_core.tables import TaskTables

WRITE_BUFFER_BYTES = 16 << 20
_TAGGERS: dict = {}  # TaggerSpec → the tagger this Python worker loaded


@dataclass(frozen=True)
class TaskJob:
    """Everything a task needs, picklable: where to write, what to read, how to tag."""

    spec: TaggerSpec
    staging: str
    progress: str
    schemas: tuple[tuple[str, pa.Schema], ...]
    columns: Columns
    model_name: str
    pipeline_version: str
    max_note_chars: int
    max_batch_chars: int
    known: KnownNotesFile | None = None  # an incremental night's known notes


def tagger_for(spec) -> tuple[object, bool]:
    """This worker's tagger for ``spec`` (``TaggerSpec`` or a test's stand-in with ``load()``), and
    whether this call loaded it."""
    if spec not in _TAGGERS:
        _TAGGERS[spec] = spec.load()
        return _TAGGERS[spec], True
    return _TAGGERS[spec], False


def item_keys(items: Iterable[WorkItem], columns: Columns, max_chars: int) -> Iterator[tuple[str, tuple]]:
    """``(note_id, (content hash, source_file, row))`` of every valid row: what the duplicate rule groups."""
    reader = BatchReader(columns)
    for item in items:
        yield from valid_row_keys(reader(item), max_chars)


def task_threads() -> int:
    """Torch threads for this task: the cores Spark gave it (``spark.task.cpus``), so that
    parallel tasks on one executor do not oversubscribe its cores."""
    context = TaskContext.get()
    return max(1, context.cpus()) if context is not None else max(1, os.cpu_count() or 1)


def tag_items(items: Iterable[WorkItem], job: TaskJob, skip: Broadcast) -> Iterator[dict]:
    """Tag the notes of the work items of one task; one result: the files it wrote and its counts.
    ``skip`` holds the (source_file, row) of every duplicate not to be tagged."""
    verdicts: Container = skip.value
    torch.set_num_threads(task_threads())
    tagger, loaded = tagger_for(job.spec)
    schemas = dict(job.schemas)
    writers = {name: TableFileWriter(job.staging, name, schema, WRITE_BUFFER_BYTES) for name, schema in schemas.items()}
    tables = TaskTables(job.columns.passthrough, job.model_name, job.pipeline_version, schemas["entities"])
    progress = WorkerProgress.for_folder(job.progress)
    counts: dict = {"notes_read": 0, "notes_unchanged": 0, "model_loads": int(loaded)}
    known = job.known.get() if job.known is not None else None
    pending: list[NoteBatch] = []
    pending_chars = 0

    def flush() -> None:
        nonlocal counts, pending_chars
        for notes, tags in tag_batches(tagger, pending):
            for row in tables.add(notes, tags):
                writers["rejects"].add(row)
                counts = merge_counts(counts, count_reject(row))
            progress.add(len(notes))
        pending.clear()
        pending_chars = 0
        for name, batch in tables.full():
            writers[name].add(batch)

    reader = BatchReader(job.columns)
    for item in items:
        for batch in reader(item):
            counts["notes_read"] += len(batch)
            routed = route_batch(batch, job.max_note_chars, verdicts, NOTE_BATCH_CHARS, known)
            counts["notes_unchanged"] += routed.unchanged
            for row in routed.rejects:
                writers["rejects"].add(row)
                counts = merge_counts(counts, count_reject(row))
            for notes in routed.batches:
                pending.append(notes)
                pending_chars += notes.chars()
                if pending_chars >= job.max_batch_chars:
                    flush()
    flush()
    for name, batch in tables.rest():
        writers[name].add(batch)
    progress.add(0, force=True)
    counts = merge_counts(counts, tables.counts() or {})
    written = [path for path in (w.close() for w in writers.values()) if path is not None]
    yield {"files": written, "counts": counts, "pid": os.getpid()}
