"""How the job's options reach each worker's tagger (``job_core.inference``)."""

import pytest

from job_core.config import JobConfig, parse_args
from job_core.inference import TaggerSpec, tagger_spec


@pytest.mark.parametrize(("flag", "expected"), [("auto", None), ("on", True), ("off", False)])
def test_overlap_option_reaches_the_spec(flag, expected):
    config, rest = parse_args(["--input", "n.parquet", "--output", "out", "--overlap", flag, "--runner", "X"])
    assert rest == ["--runner", "X"]
    assert config.overlap == flag
    assert tagger_spec(config, "v1").overlap is expected


def test_overlap_defaults_to_the_device_and_rejects_other_values():
    config, _ = parse_args(["--input", "n.parquet", "--output", "out"])
    assert tagger_spec(config, "v1").overlap is None
    with pytest.raises(ValueError, match="expected --overlap auto, on, off, got 'yes'"):
        JobConfig(inputs=("n.parquet",), output="out", overlap="yes")


def test_spec_sets_the_loaded_taggers_overlap(tiny_model_dir):
    base = {"model": str(tiny_model_dir), "device": "cpu", "dtype": "float32", "codes": False}
    assert TaggerSpec(**base).load().overlap is False  # a CPU's default
    assert TaggerSpec(**base, overlap=True).load().overlap is True
    assert TaggerSpec(**base, overlap=False).load().overlap is False
