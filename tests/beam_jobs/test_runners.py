"""Runner parity: the portable path (as on Flink, Spark, Dataflow v2) and multi-processing."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_jobs.tag_notes import run
from job_core.samples import write_sample_notes


def entities(folder):
    table = pa.concat_tables([pq.read_table(f) for f in sorted(folder.glob("entities-*.parquet"))])
    return {(r["note_id"], r["entity_type"], r["start_char"], r["end_char"]): r["score"] for r in table.to_pylist()}


@pytest.fixture(scope="module")
def reference(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("parity")
    notes = write_sample_notes(root / "notes.parquet")
    run(
        [
            "--input",
            str(notes),
            "--output",
            str(root / "fnapi"),
            "--model",
            str(tiny_model_dir),
            "--runner",
            "FnApiRunner",
        ]
    )
    return notes, entities(root / "fnapi"), root


@pytest.mark.parametrize(
    "runner_args",
    [
        ["--runner", "PortableRunner", "--job_endpoint", "embed", "--environment_type", "LOOPBACK"],
        ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"],
    ],
    ids=["portable-loopback", "multi-processing"],
)
def test_runners_give_identical_entities(reference, tiny_model_dir, runner_args):
    notes, expected, root = reference
    out = root / runner_args[1].lower()
    summary = run(["--input", str(notes), "--output", str(out), "--model", str(tiny_model_dir), *runner_args])
    got = entities(out)
    assert summary["entities"] == len(expected) > 0
    assert got == expected  # same spans and bit-identical scores, whatever the bundles and batches
