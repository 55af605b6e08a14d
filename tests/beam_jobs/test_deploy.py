"""What cannot run here (Dataflow, Flink, Spark, a GPU image) is at least configured consistently."""

import re
import shlex
from pathlib import Path

from apache_beam.options.pipeline_options import (
    DebugOptions,
    GoogleCloudOptions,
    PipelineOptions,
    PortableOptions,
    StandardOptions,
    WorkerOptions,
)

from beam_jobs.config import parse_args
from beam_jobs.handler import TaggerModelHandler

REPO = Path(__file__).resolve().parents[2]


def requirement_names(lines):
    return {
        re.split(r"[<>=\[ ]", line.strip())[0].lower() for line in lines if line.strip() and not line.startswith("#")
    }


def test_worker_image_installs_the_project_requirements_and_a_pinned_torch():
    dockerfile = (REPO / "deploy" / "worker.Dockerfile").read_text()
    requirements = requirement_names((REPO / "requirements.txt").read_text().splitlines())
    assert {"apache-beam", "torch", "transformers", "pytorch-crf", "pyarrow", "smart-open"} <= requirements
    assert "pip install --no-cache-dir -r /opt/clinical-ner/requirements.txt" in dockerfile
    assert re.search(r"torch==\$\{TORCH_VERSION\}", dockerfile) and "ARG TORCH_VERSION=" in dockerfile
    import apache_beam

    sdk = re.search(r"beam_python3\.\d+_sdk:(\S+)", dockerfile).group(1)
    assert sdk == apache_beam.__version__, "the worker image's Beam SDK must match the launcher's"
    for package in ("nercore", "beam_jobs", "schemas"):
        assert f"COPY {package} " in dockerfile


def test_dataflow_gpu_example_options_parse():
    script = (REPO / "deploy" / "dataflow_gpu.sh").read_text()
    command = script[script.index("python -m beam_jobs.tag_notes") :].replace("\\\n", " ")
    argv = shlex.split(command)[3:]
    argv = [
        a.replace("$(date +%F)", "2026-01-01")
        .replace("${BUCKET}", "b")
        .replace("${PROJECT}", "p")
        .replace("${REGION}", "r")
        .replace("${IMAGE}", "img")
        for a in argv
    ]
    config, pipeline_args = parse_args(argv)
    assert config.device == "cuda" and config.model_copies == 1 and config.model.startswith("gs://")
    options = PipelineOptions(pipeline_args)
    assert options.view_as(StandardOptions).runner == "DataflowRunner"
    assert options.view_as(GoogleCloudOptions).dataflow_service_options == [
        "worker_accelerator=type:nvidia-l4;count:1;install-nvidia-driver"
    ]
    assert options.view_as(DebugOptions).experiments == ["no_use_multiple_sdk_containers"]
    assert options.view_as(WorkerOptions).sdk_container_image == "img"
    handler = TaggerModelHandler(config.model, device=config.device, model_copies=config.model_copies)
    assert handler.model_copies() == 1 and handler.share_model_across_processes()


def test_flink_and_spark_portable_options_parse():
    for runner, endpoint in (
        ("FlinkRunner", "--flink_master=localhost:8081"),
        ("SparkRunner", "--spark_master_url=spark://localhost:7077"),
    ):
        config, pipeline_args = parse_args(
            [
                "--input",
                "gs://b/n/*.parquet",
                "--output",
                "gs://b/o",
                f"--runner={runner}",
                endpoint,
                "--environment_type=DOCKER",
                "--environment_config=img",
            ]
        )
        options = PipelineOptions(pipeline_args)
        assert options.view_as(StandardOptions).runner == runner
        assert options.view_as(PortableOptions).environment_type == "DOCKER"
        assert config.inputs == ("gs://b/n/*.parquet",)
