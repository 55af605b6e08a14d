"""Tagged NoteBatches → the tables' record batches and the counts of one bundle (Beam) or task (Spark).

``TaskTables`` gathers entities and codes column by column (``rows.TableColumns``): no dict per
entity, no engine element per entity, no count record per note. Full record batches of
``batch_rows`` rows leave as they fill up (``full``), the rest at the task's end (``rest``), with
one count record (``counts``) that the launcher sums like every other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

import pyarrow as pa

from job_core.note_batch import NoteBatch
from job_core.note_codes import add_batch_note_codes
from job_core.notes import content_hashes, reject
from job_core.rows import TableColumns, add_entities
from job_core.run_stats import RunStats
from job_core.tags import BatchTags
from schemas import CODES_SCHEMA, NOTE_CODES_SCHEMA, NOTE_STATE_SCHEMA

BATCH_ROWS = 8192
COUNTED = ("notes_tagged", "entities", "entities_with_code", "windows", "tokens")


class TaskTables:
    """The entities, codes and counts of one task's tagged notes."""

    def __init__(
        self,
        passthrough: Sequence[str],
        model_name: str,
        pipeline_version: str,
        entity_schema: pa.Schema,
        batch_rows: int = BATCH_ROWS,
    ):
        self._passthrough = tuple(passthrough)
        self._model_name = model_name
        self._pipeline_version = pipeline_version
        self._batch_rows = batch_rows
        self.entities = TableColumns(entity_schema, self._passthrough)
        self.codes = TableColumns(CODES_SCHEMA)
        self.notes = TableColumns(NOTE_STATE_SCHEMA)
        self.note_codes = TableColumns(NOTE_CODES_SCHEMA)
        self._counts: Counter = Counter()
        self._precision: Counter = Counter()
        self._stats = RunStats()  # also the counts by type and by negation (summary.json keeps both)

    def add(self, notes: NoteBatch, tags: BatchTags) -> list[dict]:
        """Add one NoteBatch's tagging (``job_core.inference.tag_batches``); the reject rows of
        its failed notes."""
        rejects = [
            reject(notes.note_ids[i], failure, notes.source_file)
            for i, failure in enumerate(tags.failures)
            if failure is not None
        ]
        rows = tags.tagged_rows()
        n = self.notes.columns
        n["note_id"].extend(notes.note_ids[i] for i in rows)
        n["content_hash"].extend(content_hashes(notes, rows))
        n["model_version"].extend([tags.tagged.model_version] * len(rows))
        add_batch_note_codes(self.note_codes, notes, tags)
        coded = add_entities(
            self.entities, self.codes, notes, tags, self._passthrough, self._model_name, self._pipeline_version
        )
        self._stats.add(notes.texts, tags)
        if rows:
            self._precision[tags.tagged.precision or "unknown"] += len(rows)
        self._counts.update(
            {
                "notes_tagged": len(rows),
                "entities": len(tags.tagged.columns),
                "entities_with_code": coded,
                "windows": int(tags.tagged.windows.sum()),
                "tokens": int(tags.tagged.tokens.sum()),
            }
        )
        return rejects

    def full(self) -> Iterator[tuple[str, pa.RecordBatch]]:
        """``("entities"|"codes"|"notes", record batch)`` for each table that holds ``batch_rows`` rows."""
        if len(self.entities) >= self._batch_rows:
            yield "entities", self.entities.take()
        if len(self.codes) >= self._batch_rows:
            yield "codes", self.codes.take()
        if len(self.notes) >= self._batch_rows:
            yield "notes", self.notes.take()
        if len(self.note_codes) >= self._batch_rows:
            yield "note_codes", self.note_codes.take()

    def rest(self) -> Iterator[tuple[str, pa.RecordBatch]]:
        """What is left of both tables (at the task's end)."""
        if len(self.entities):
            yield "entities", self.entities.take()
        if len(self.codes):
            yield "codes", self.codes.take()
        if len(self.notes):
            yield "notes", self.notes.take()
        if len(self.note_codes):
            yield "note_codes", self.note_codes.take()

    def counts(self) -> dict | None:
        """The task's count record, or None if it tagged nothing."""
        if not self._counts:
            return None
        record = {k: self._counts[k] for k in COUNTED}
        record["entities_by_type"] = self._stats.entities_by_type()
        record["entities_by_negation"] = self._stats.entities_by("negation")
        record["notes_by_precision"] = dict(self._precision)
        record["stats"] = self._stats.as_record()
        return record
