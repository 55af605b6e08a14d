"""The GPU device check's CPU dry run: the script the device machine runs, end to end on tiny sizes,
so that the few minutes of a lent GPU are not lost to a typo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> tuple[dict, str, Path]:
    out = tmp_path_factory.mktemp("gpu")
    # the prepared site (.gpu/, if one was made here) holds Python 3.12 packages for the device machine
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(out), "GPU_SITE": str(out / "no-site")}
    done = subprocess.run(
        ["bash", "scripts/gpu_check.sh", "--device", "cpu", "--dry-run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((out / "gpu.json").read_text()), (out / "gpu.md").read_text(), out


def test_every_stage_measured(dry_run):
    report, _, out = dry_run
    assert report["dry_run"] is True and report["skipped"] == []
    rows = report["throughput"]
    assert [(r["model"], r["batch_tokens"], r["overlap"]) for r in rows] == [
        *((model, tokens, False) for model in ("bundled", "tiny") for tokens in (512, 2048)),
        ("tiny", 2048, True),  # the CPU's default flipped: the three-stage overlap measured too
    ]
    assert rows[-1]["subwords"] == rows[-2]["subwords"] and rows[-1]["entities"] == rows[-2]["entities"]
    for row in rows:
        assert row["subwords"] > 0 and row["subwords_s"] > 0
        assert 0.0 <= row["gpu_wait_share"] < 1.0  # the encoder ran inside the timed run
        assert row["encoder_busy_s"] > 0
        assert row["mfu"] is None and row["peak_gpu_mb"] is None  # no GPU: not made up
    job = report["job"]
    assert job["notes"] == job["notes_tagged"] + job["notes_rejected"] == 24
    assert job["entities"] == job["tagger_entities"]  # the job and Tagger.tag found the same entities
    assert job["seconds"] > 0 and job["tagger_seconds"] > 0
    large = report["job_large_batches"]
    assert job["max_batch_chars"] is None and large["max_batch_chars"] == 4 * (1 << 20)
    assert large["notes_tagged"] == job["notes_tagged"] and large["entities"] == job["entities"]
    assert (out / "gpu.log").is_file()


def test_invariance_on_the_cpu(dry_run):
    inv = dry_run[0]["invariance"]
    assert inv["notes"] == 6
    for name in ("together", "reversed"):
        # Fixed window widths make the CPU's output independent of batch composition.
        assert inv[name]["emissions_identical"] is True
        assert inv[name]["max_emission_diff"] == 0.0
        assert inv[name]["entities_identical"] is True


def test_markdown_holds_every_row(dry_run):
    report, md, _ = dry_run
    assert "DRY RUN" in md
    table_rows = [line for line in md.splitlines() if line.startswith("| bundled") or line.startswith("| tiny")]
    assert len(table_rows) == len(report["throughput"])
    assert md.count("Job end to end") == 2 and "--max-batch-chars 4,194,304" in md
    assert md.count("Batch invariance") == 2


def test_budget_skips_stages(tmp_path):
    from bench import gpu

    assert gpu.main(["--device", "cpu", "--dry-run", "--out", str(tmp_path), "--budget-s", "0"]) == 0
    report = json.loads((tmp_path / "gpu.json").read_text())
    assert report["throughput"] == [] and "job" not in report
    assert report["skipped"][-3:] == ["job", "invariance", "job, large batches"] and len(report["skipped"]) == 8
