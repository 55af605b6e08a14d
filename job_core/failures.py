"""An engine's failure said in one line: the cause, and the path of a log with the detail.

A failed job comes back from an engine as a long message (a gRPC error, a Py4J stack, a Go panic,
a worker's Python traceback). The user gets one ``error:`` line that names the cause
(``EngineFailed``); the full detail goes to a log file whose path the line gives. Each engine
brings its own patterns (what its messages say); the matching is shared.
"""

from __future__ import annotations

import re
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from job_core.summary import RunFailed

LOG_FOLDER = "clinical-ner"
Causes = Sequence[tuple[re.Pattern, str]]


class EngineFailed(RunFailed):
    """The engine could not be reached, or it failed the job; nothing was published."""


def chain(err: BaseException) -> list[BaseException]:
    out, seen = [], set()
    while err is not None and id(err) not in seen:
        out.append(err)
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return out


def cause(err: BaseException, causes: Causes, what: str = "the runner", text: str | None = None) -> str:
    """A short cause from the exception chain's messages (or ``text``): the first pattern that
    matches, formatted with its groups; else the exception's type. No element data is repeated:
    only what a pattern matched, and patterns match engine words, paths and versions."""
    text = "\n".join(str(e) for e in chain(err)) if text is None else text
    stage = re.search(r"\b(stage-\d+)\b|while running '([^']{1,80})'", text)
    where = f" ({stage.group(1) or 'step ' + stage.group(2)})" if stage else ""
    for pattern, said in causes:
        match = pattern.search(text)
        if match:
            return said.format(*((g or "").strip() for g in match.groups()), what=what) + where
    return f"{type(err).__name__}{where}"


def detail_log(run_id: str, err: BaseException, extra: str = "") -> Path:
    """Write the failure's full traceback (and ``extra``) to a log file of the run; its path."""
    folder = Path(tempfile.gettempdir()) / LOG_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.log"
    path.write_text("".join(traceback.format_exception(err)) + extra, encoding="utf-8")
    return path
