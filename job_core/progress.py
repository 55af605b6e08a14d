"""Progress of a running job on any runner: workers write their counts, the launcher adds them up.

Runners differ in what reaches the launcher while a job runs (FnApiRunner blocks until the end,
portable runners return metrics only when the job is done, a worker's log may stay on its
machine). A file does not depend on the runner: each worker process writes its own running count
to ``<staging>/_progress/<process id>.json`` (at most every ``WRITE_EVERY`` seconds, on the
same file system as the output, local or ``gs://``), and the launcher reads the folder every
``REPORT_EVERY`` seconds and logs one line: notes done out of the footers' total, notes/s and an
estimate of the time left. A bundle that a runner re-runs is counted again here (progress is an
estimate); the run's counts, which the publish gate checks, come from the pipeline's own output.
Only counts are written: no ids, no text.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid

from job_core import files

log = logging.getLogger("job_core.progress")
PROGRESS_FOLDER = "_progress"
WRITE_EVERY = 5.0
REPORT_EVERY = 10.0


def progress_folder(staging: str) -> str:
    return f"{staging}/{PROGRESS_FOLDER}"


class WorkerProgress:
    """This process's count of finished notes for one run, written to its own file.

    Shared by every DoFn instance (thread) of the process that reports to the same folder
    (``for_folder``), so that one file holds the process's total.
    """

    _by_folder: dict[str, WorkerProgress] = {}
    _registry_lock = threading.Lock()

    def __init__(self, folder: str, clock=time.monotonic):
        self.folder = folder
        self.path = f"{folder}/{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
        self.notes = 0
        self._clock = clock
        self._last_write = None
        self._lock = threading.Lock()

    @classmethod
    def for_folder(cls, folder: str) -> WorkerProgress:
        with cls._registry_lock:
            if folder not in cls._by_folder:
                cls._by_folder[folder] = cls(folder)
            return cls._by_folder[folder]

    def add(self, notes: int, *, force: bool = False) -> None:
        """Count finished notes; write the file if ``WRITE_EVERY`` has passed (or ``force``)."""
        with self._lock:
            self.notes += notes
            now = self._clock()
            if not force and self._last_write is not None and now - self._last_write < WRITE_EVERY:
                return
            self._last_write = now
            payload = json.dumps({"notes": self.notes}).encode()
        try:
            files.write_bytes(self.path, payload)
        except OSError as err:  # progress must never fail a bundle
            log.debug("progress file not written (%s)", type(err).__name__)


def read_total(folder: str) -> int:
    """The notes finished so far by every worker process that has reported into ``folder``."""
    try:
        matches = files.match(f"{folder}/*.json")
    except (OSError, ValueError):  # nothing written yet (an object store says so by raising)
        return 0
    total = 0
    for path in matches:
        try:
            total += int(json.loads(files.read_bytes(path).decode())["notes"])
        except (OSError, ValueError, KeyError):  # a file being rewritten at this moment
            continue
    return total


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress_line(done: int, total: int, elapsed: float, rate_since: tuple[int, float] | None = None) -> str:
    """One progress line: ``progress: 1,200 of 10,000 notes (12%), 40 notes/s, about 3 min 40 s left``.

    The rate is taken since the first note was reported (``rate_since``: notes and time then),
    so the model's load time does not make the estimate too long.
    """
    share = f" ({100 * done / total:.0f}%)" if total else ""
    line = f"progress: {done:,} of {total:,} notes{share}"
    base_notes, base_time = rate_since or (0, 0.0)
    span = elapsed - base_time
    if done > base_notes and span > 0:
        rate = (done - base_notes) / span
        line += f", {rate:,.0f} notes/s"
        if total > done:
            line += f", about {format_duration((total - done) / rate)} left"
    return line + f", {format_duration(elapsed)} elapsed"


class ProgressMonitor:
    """On the launcher: a daemon thread that logs ``progress_line`` every ``every`` seconds
    while the pipeline runs (``with ProgressMonitor(folder, total): result.wait_until_finish()``)."""

    def __init__(self, folder: str, total: int, every: float | None = None, clock=time.monotonic):
        self.folder, self.total = folder, total
        self.every = REPORT_EVERY if every is None else every
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nercore-progress", daemon=True)
        self._started = 0.0
        self._first: tuple[int, float] | None = None
        self.lines: list[str] = []

    def __enter__(self) -> ProgressMonitor:
        self._started = self._clock()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def report(self) -> str:
        """Read the workers' counts and log one line (called by the thread; tests call it directly)."""
        done = read_total(self.folder)
        elapsed = self._clock() - self._started
        if self._first is None and done:
            self._first = (done, elapsed)
        line = progress_line(done, self.total, elapsed, self._first)
        self.lines.append(line)
        log.info("%s", line)
        return line

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.report()
