"""The run report and the drift check: report.html in every published output, its numbers equal to
summary.json's, no note text or id in it, a real browser renders it, and a silently bad night is
flagged and (with --max-drift) not published."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_jobs.tag_notes import run
from job_core.report import main as report_main
from job_core.samples import sample_rows
from job_core.summary import RunFailed
from tests.fakes import FakeHandler

CANARY_TEXT = "Zyxwvut canary phrase"
CANARY_ID = "CANARY-ID-4711"
RUNNER = ["--runner", "FnApiRunner"]
DRUGS = ("amoxicillin",)  # the fake tagger's Chemical keyword


def write_notes(path, rows):
    schema = pa.schema(
        [("note_id", pa.string()), ("patient_id", pa.string()), ("note_type", pa.string()), ("text", pa.string())]
    )
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def notes_with_canary():
    rows = sample_rows()
    rows.append(
        {
            "note_id": CANARY_ID,
            "patient_id": "P1",
            "note_type": "x",
            "text": f"{CANARY_TEXT}: pneumonia treated with amoxicillin. No sepsis.",
        }
    )
    rows += [
        {
            "note_id": f"extra{i}",
            "patient_id": "P2",
            "note_type": "x",
            "text": f"Day {i}: pneumonia, started amoxicillin; history of sepsis.",
        }
        for i in range(20)
    ]
    return rows


def job(notes, out, *extra):
    return run(
        ["--input", str(notes), "--output", str(out), "--passthrough", "patient_id,note_type", *RUNNER, *extra],
        handler=FakeHandler(),
    )


def test_every_published_output_has_a_report_that_agrees_with_its_summary(tmp_path):
    notes = write_notes(tmp_path / "notes.parquet", notes_with_canary())
    summary = job(notes, tmp_path / "out")
    report = (tmp_path / "out" / "report.html").read_text()
    assert summary == json.loads((tmp_path / "out" / "summary.json").read_text())
    for section in ("headline", "rates", "comparison", "coverage", "charts"):
        assert f'id="{section}"' in report
    for title in (
        "Entities by type",
        "Context by type",
        "Entities by section (top 15)",
        "Score distribution per type",
        "Entities per 1,000 characters across notes",
        "ICD-10-CM code scores",
        "Top 20 codes among affirmed patient mentions",
        "Rejects by reason",
    ):
        assert f"<h3>{title}</h3><svg" in report
    for label, value in (
        ("notes read", summary["notes_read"]),
        ("notes tagged", summary["notes_tagged"]),
        ("notes rejected", summary["notes_rejected"]),
        ("entities", summary["entities"]),
    ):
        assert f"<td>{label}</td><td>{value:,}</td>" in report
    assert summary["rates"] and all(
        f"<td>{name}</td><td>{value:.4g}</td>" in report for name, value in summary["rates"].items()
    )
    stats = summary["stats"]
    assert sum(c["n"] for c in stats["by_type"].values()) == summary["entities"]
    assert sum(stats["density_bins"].values()) == summary["notes_tagged"]
    assert summary["rates"]["reject rate"] == summary["notes_rejected"] / summary["notes_read"]
    for leaked in (CANARY_TEXT, CANARY_ID, "Zyxwvut"):
        assert leaked not in report and leaked not in json.dumps(summary)
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", report) and "<script" not in report  # nothing to fetch


def drug_free(rows):
    out = []
    for row in rows:
        text = row["text"]
        for drug in DRUGS:
            text = re.sub(drug, "**NAME", text, flags=re.I) if text else text
        out.append({**row, "text": text})
    return out


def test_a_de_identification_gone_wrong_is_flagged_and_not_published_under_max_drift(tmp_path):
    rows = notes_with_canary()
    first_notes = write_notes(tmp_path / "night1.parquet", rows)
    bad_notes = write_notes(tmp_path / "night2.parquet", drug_free(rows))
    out = tmp_path / "out"
    first = job(first_notes, out)
    with pytest.raises(
        RunFailed, match=r"drift beyond --max-drift 0.3: Chemical .* moved from .* output not published"
    ):
        job(bad_notes, out, "--max-drift", "0.3")
    assert json.loads((out / "summary.json").read_text())["run_id"] == first["run_id"]  # the first night stays
    accepted = job(bad_notes, out, "--max-drift", "0.3", "--accept-drift")
    comparison = accepted["comparison"]
    assert comparison["previous_run"] == first["run_id"] and comparison["drift_accepted"] is True
    assert any(name.startswith("Chemical") for name in comparison["flagged"])
    assert not comparison["model_changed"]
    report = (out / "report.html").read_text()
    assert "Drift beyond --max-drift was accepted" in report and 'class="flagged"' in report


def test_an_unchanged_night_flags_nothing_and_the_cli_renders_a_comparison(tmp_path):
    notes = write_notes(tmp_path / "notes.parquet", notes_with_canary())
    first = job(notes, tmp_path / "a")
    second = job(notes, tmp_path / "a", "--max-drift", "0.3")
    assert second["comparison"]["flagged"] == [] and second["comparison"]["previous_run"] == first["run_id"]
    assert all(r["relative"] == 0 for r in second["comparison"]["rates"])
    job(write_notes(tmp_path / "bad.parquet", drug_free(notes_with_canary())), tmp_path / "b")
    assert (
        report_main([str(tmp_path / "b"), "--compare-to", str(tmp_path / "a"), "--out", str(tmp_path / "r.html")]) == 0
    )
    assert 'class="flagged"' in (tmp_path / "r.html").read_text()


def chromium() -> str:
    """A headless Chromium: Debian's package, installed when absent; skip where it cannot be."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if shutil.which("apt-get"):
        for step in (
            ["apt-get", "install", "-y", "-qq", "chromium"],
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "chromium"],
        ):
            subprocess.run(step, capture_output=True, timeout=600)
            if shutil.which("chromium"):
                return shutil.which("chromium")
    pytest.skip("Chromium is absent and could not be installed (apt-get install chromium)")


def test_a_real_browser_renders_the_report_offline_with_its_charts(tmp_path):
    from PIL import Image

    browser = chromium()
    notes = write_notes(tmp_path / "notes.parquet", notes_with_canary())
    job(notes, tmp_path / "out")
    page = (tmp_path / "out" / "report.html").as_uri()
    offline = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,4000",
    ]
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [browser, *offline, f"--screenshot={shot}", page], capture_output=True, text=True, timeout=120
    )
    assert shot.is_file(), result.stderr[-2000:]
    assert "CONSOLE" not in result.stderr and "Uncaught" not in result.stderr
    image = Image.open(shot).convert("L")
    assert image.size == (1200, 4000)
    low, high = image.getextrema()
    assert high - low > 100  # not a blank page
    dom = subprocess.run([browser, *offline, "--dump-dom", page], capture_output=True, text=True, timeout=120).stdout
    sizes = re.findall(r'<svg[^>]*width="([\d.]+)pt" height="([\d.]+)pt"', dom)
    assert len(sizes) == 8 and all(float(w) > 0 and float(h) > 0 for w, h in sizes)


def test_workers_do_not_import_the_launchers_libraries():
    """Workers import the pipeline's modules (Beam) or the task module (Spark); only the launcher draws
    the report and talks to the warehouse."""
    launcher_only = ("matplotlib", "pyiceberg", "sqlalchemy", "job_core.launch")
    for module in ("beam_jobs.pipeline", "spark_jobs.tasks"):
        code = f"import sys, {module}; print([m for m in {launcher_only!r} if m in sys.modules])"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert result.stdout.strip().splitlines()[-1] == "[]", (module, result.stdout, result.stderr[-2000:])
    code = "import sys, beam_jobs.tag_notes; print('job_core.launch' in sys.modules)"  # the check can fail
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip().splitlines()[-1] == "True"
