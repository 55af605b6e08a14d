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
from job_core.note_codes import add_note_codes
from job_core.notes import content_hashes, reject
from job_core.rows import TableColumns, add_entities
from job_core.run_stats import RunStats
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

    def add(self, notes: NoteBatch, results: Sequence) -> list[dict]:
        """Add one NoteBatch's results (``job_core.inference.tag_batches``); the reject rows of
        its failed notes."""
        rejects = [reject(notes.note_ids[i], r, notes.source_file) for i, r in enumerate(results) if isinstance(r, str)]
        tagged = [r for r in results if not isinstance(r, str)]
        rows = [i for i, r in enumerate(results) if not isinstance(r, str)]
        n = self.notes.columns
        n["note_id"].extend(notes.note_ids[i] for i in rows)
        n["content_hash"].extend(content_hashes(notes, rows))
        n["model_version"].extend(results[i].model_version for i in rows)
        for i in rows:
            if results[i].entities:
                add_note_codes(self.note_codes, notes.note_ids[i], results[i].entities, results[i].model_version)
        coded = add_entities(
            self.entities, self.codes, notes, results, self._passthrough, self._model_name, self._pipeline_version
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
