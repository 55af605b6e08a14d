"""``NoteBatch``: rows of one input file held as columns, the unit the job reads, checks, tags and writes.

The job never builds a dict per note: a work item is read as Arrow record batches, each becomes a
``NoteBatch`` (ids and texts as Python lists, because the tokenizer and the context rules take
``str``; passthrough values kept as Arrow arrays, so any Arrow type reaches the entity table
unchanged), rows that fail a check leave as rejects, and the rest go on as smaller ``NoteBatch``
objects, cut by characters so that the inference step can fill its batches evenly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

# Characters of text per NoteBatch that goes to the inference step. Beam's BatchElements fills an
# inference batch up to --max-batch-chars (400,000 by default) with whole elements, so elements
# much smaller than that keep batches full; a single note longer than this is a batch of its own.
NOTE_BATCH_CHARS = 64_000


@dataclass
class NoteBatch:
    """Rows of ``source_file``: row numbers, note ids, texts and passthrough columns, all of one length.

    Attributes:
        source_file: The file every row came from.
        rows: Each row's number in that file (counted across its row groups).
        note_ids: Each row's id as a string (None where the input has a null).
        texts: Each row's text (None where the input has a null).
        passthrough: One Arrow array per passthrough column, in the job's column order.
    """

    source_file: str
    rows: list[int]
    note_ids: list[str | None]
    texts: list[str | None]
    passthrough: tuple[pa.Array, ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.rows)
        lengths = [len(self.note_ids), len(self.texts), *(len(c) for c in self.passthrough)]
        if any(m != n for m in lengths):
            raise ValueError(f"expected columns of {n} rows, got lengths {lengths}")

    def __len__(self) -> int:
        return len(self.rows)

    def chars(self) -> int:
        """Characters of text, plus one a row (so an empty row weighs something)."""
        return sum(len(t) for t in self.texts if t is not None) + len(self.rows)

    def passthrough_values(self) -> list[tuple]:
        """Each row's passthrough values as a tuple of Python values (for the duplicate rule's hash)."""
        columns = [c.to_pylist() for c in self.passthrough]
        return list(zip(*columns)) if columns else [()] * len(self.rows)

    def take(self, indices: Sequence[int]) -> NoteBatch:
        """The rows at ``indices``, in that order."""
        picked = pa.array(indices, type=pa.int64())
        return NoteBatch(
            self.source_file,
            [self.rows[i] for i in indices],
            [self.note_ids[i] for i in indices],
            [self.texts[i] for i in indices],
            tuple(c.take(picked) for c in self.passthrough),
        )

    def split(self, indices: Sequence[int], max_chars: int = NOTE_BATCH_CHARS) -> Iterator[NoteBatch]:
        """The rows at ``indices`` as consecutive batches of at most ``max_chars`` characters
        (``chars()``), each with at least one row."""
        start, size = 0, 0
        for k, i in enumerate(indices):
            weight = len(self.texts[i] or "") + 1
            if size and size + weight > max_chars:
                yield self.take(indices[start:k])
                start, size = k, 0
            size += weight
        if start < len(indices):
            yield self.take(indices[start:])


def batches_from_rows(rows: Iterable[dict]) -> Iterator[NoteBatch]:
    """Row dicts (note_id, text, passthrough tuple, source_file, row) → NoteBatches, one per run of
    rows from the same file; passthrough types are inferred by Arrow. For tests and small inputs
    held in memory; the job reads files with ``inputs.item_batches``."""
    run: list[dict] = []
    for row in rows:
        if run and row["source_file"] != run[0]["source_file"]:
            yield _batch_of(run)
            run = []
        run.append(row)
    if run:
        yield _batch_of(run)


def _batch_of(rows: list[dict]) -> NoteBatch:
    values = list(zip(*(r["passthrough"] for r in rows)))
    return NoteBatch(
        rows[0]["source_file"],
        [r["row"] for r in rows],
        [r["note_id"] for r in rows],
        [r["text"] for r in rows],
        tuple(pa.array(list(v)) for v in values),
    )
