"""Progress of a running job: workers' count files, the launcher's lines, and quiet imports."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from job_core import progress
from job_core.progress import ProgressMonitor, WorkerProgress, format_duration, progress_line, read_total


def test_worker_counts_are_written_at_most_every_few_seconds_and_summed(tmp_path):
    now = [100.0]
    folder = str(tmp_path / "_progress")
    first, second = WorkerProgress(folder, clock=lambda: now[0]), WorkerProgress(folder, clock=lambda: now[0])
    first.add(10)  # the first count is written at once
    assert read_total(folder) == 10
    first.add(5)  # within WRITE_EVERY: kept in memory
    assert read_total(folder) == 10
    now[0] += progress.WRITE_EVERY
    first.add(1)
    second.add(7)
    assert read_total(folder) == 23
    second.add(3, force=True)  # a bundle's end writes whatever the clock says
    assert read_total(folder) == 26
    assert len(list((tmp_path / "_progress").iterdir())) == 2  # one file per reporter


def test_the_folder_may_not_exist_yet(tmp_path):
    assert read_total(str(tmp_path / "nothing")) == 0


def test_progress_lines_say_done_total_rate_and_time_left():
    assert progress_line(0, 400, 10.0) == "progress: 0 of 400 notes (0%), 10 s elapsed"
    # 100 notes at 20 s, 300 at 30 s: 20 notes/s since the first report, 100 left → 5 s.
    line = progress_line(300, 400, 30.0, rate_since=(100, 20.0))
    assert line == "progress: 300 of 400 notes (75%), 20 notes/s, about 5 s left, 30 s elapsed"
    assert format_duration(3725) == "1 h 02 min" and format_duration(125) == "2 min 05 s"


def test_the_monitor_reports_from_the_files(tmp_path, caplog):
    now = [0.0]
    folder = str(tmp_path / "p")
    worker = WorkerProgress(folder, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="job_core.progress"):
        monitor = ProgressMonitor(folder, 1000, every=3600, clock=lambda: now[0])
        with monitor:
            now[0] = 10.0
            worker.add(100, force=True)
            monitor.report()
            now[0] = 20.0
            worker.add(200, force=True)
            monitor.report()
    assert monitor.lines == [
        "progress: 100 of 1,000 notes (10%), 10 s elapsed",
        "progress: 300 of 1,000 notes (30%), 20 notes/s, about 35 s left, 20 s elapsed",
    ]
    assert monitor.lines[1] in caplog.text


@pytest.mark.parametrize("module", ["beam_jobs.tag_notes", "apache_beam"])
def test_beams_routine_warnings_are_gone_and_others_still_show(module):
    code = (
        "import beam_jobs, logging, importlib\n"
        f"importlib.import_module({module!r})\n"
        "from apache_beam.ml.inference import base\n"
        "base._get_current_process_memory_in_bytes()\n"
        "logging.getLogger('apache_beam.x').warning('a warning that matters')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "apitools not found" not in result.stderr
    assert "Resource module is not available" not in result.stderr
    assert "a warning that matters" in result.stderr


def test_a_job_reports_progress_while_it_runs_and_publishes_no_progress_files(tmp_path, monkeypatch, caplog):
    from beam_jobs.tag_notes import run
    from job_core.samples import write_sample_notes
    from tests.fakes import FakeHandler

    monkeypatch.setattr(progress, "REPORT_EVERY", 0.05)
    notes = write_sample_notes(tmp_path / "notes.parquet")
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO, logger="job_core.progress"):
        summary = run(["--input", str(notes), "--output", str(out), "--runner", "FnApiRunner"], handler=FakeHandler())
    lines = [r.getMessage() for r in caplog.records if r.name == "job_core.progress"]
    assert lines and all(line.startswith("progress: ") for line in lines)
    assert all(f" of {summary['notes_in_footers']:,} notes" in line for line in lines)
    assert not any(p.name.startswith("_progress") for p in out.rglob("*"))
    assert summary["notes_tagged"] > 0
