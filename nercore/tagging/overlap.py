"""Three stages over a stream of chunks at once: the host prepares chunk ``i + 1`` and finishes chunk
``i - 1`` on background threads while chunk ``i`` runs through the model.

torch, the fast tokenizer's Rust core and most numpy operations release the GIL, so the threads
do overlap; one thread per stage keeps each stage's calls in chunk order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Chunk, Prepared, Output, Result = TypeVar("Chunk"), TypeVar("Prepared"), TypeVar("Output"), TypeVar("Result")


def overlapped(
    chunks: Sequence[Chunk],
    prepare: Callable[[Chunk], Prepared],
    run: Callable[[Prepared], Output],
    finish: Callable[[Chunk, Prepared, Output], list[Result]],
) -> list[Result]:
    """``finish(chunk, p, run(p))`` with ``p = prepare(chunk)`` for every chunk, results in chunk
    order; ``run`` is called on the caller's thread, ``prepare`` and ``finish`` on one thread each.
    An exception of any stage is raised here."""
    results: list[Result] = []
    if not chunks:
        return results
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="nercore-prepare") as before,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="nercore-finish") as after,
    ):
        upcoming = before.submit(prepare, chunks[0])
        finishing: Future | None = None
        for i, chunk in enumerate(chunks):
            prepared = upcoming.result()
            if i + 1 < len(chunks):
                upcoming = before.submit(prepare, chunks[i + 1])
            output = run(prepared)
            if finishing is not None:
                results.extend(finishing.result())
            finishing = after.submit(finish, chunk, prepared, output)
        results.extend(finishing.result())
    return results
