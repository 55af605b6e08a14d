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

from beam_jobs.handler import TaggerModelHandler
from job_core.config import parse_args

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


def image_env() -> dict[str, str]:
    """deploy/image.env, the one place for the worker image and its versions."""
    lines = (REPO / "deploy" / "image.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def command_argv(script: Path, values: dict[str, str]) -> list[str]:
    """The arguments a script passes to ``python -m beam_jobs.tag_notes``, its variables filled in."""
    text = script.read_text()
    command = text[text.index("python -m beam_jobs.tag_notes") :].replace("\\\n", " ")
    argv = shlex.split(command)[3:]
    out = []
    for arg in argv:
        arg = arg.replace("$(date +%F)", "2026-01-01")
        for name, value in values.items():
            arg = arg.replace("${" + name + "}", value)
        assert "${" not in arg, f"{script.name}: unfilled variable in {arg}"
        out.append(arg)
    return out


def test_dataflow_gpu_example_options_parse():
    env = image_env()
    argv = command_argv(REPO / "deploy" / "dataflow_gpu.sh", {"BUCKET": "b", "PROJECT": "p", "REGION": "r", **env})
    config, pipeline_args = parse_args(argv)
    assert config.device == "cuda" and config.model_copies == 1 and config.model.startswith("gs://")
    options = PipelineOptions(pipeline_args)
    assert options.view_as(StandardOptions).runner == "DataflowRunner"
    assert options.view_as(GoogleCloudOptions).dataflow_service_options == [
        "worker_accelerator=type:nvidia-l4;count:1;install-nvidia-driver"
    ]
    assert options.view_as(DebugOptions).experiments == ["no_use_multiple_sdk_containers"]
    assert options.view_as(WorkerOptions).sdk_container_image == env["IMAGE"]
    assert "use_runner_v2" not in argv  # implied for Python since Beam 2.45
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


def test_the_deployment_files_agree_on_image_port_and_versions():
    import apache_beam
    import yaml

    env = image_env()
    assert env["BEAM_VERSION"] == apache_beam.__version__
    requirements = (REPO / "requirements.txt").read_text()
    assert f"apache-beam=={env['BEAM_VERSION']}" in requirements
    dockerfile = (REPO / "deploy" / "worker.Dockerfile").read_text()
    assert f"FROM apache/beam_python{env['PYTHON_VERSION']}_sdk:{env['BEAM_VERSION']}" in dockerfile
    deployment = yaml.safe_load((REPO / "deploy" / "flink" / "flink-deployment.yaml").read_text())
    assert deployment["kind"] == "FlinkDeployment" and "job" not in deployment["spec"]  # a session cluster
    assert deployment["spec"]["flinkVersion"] == "v" + env["FLINK_VERSION"].replace(".", "_")
    assert deployment["spec"]["image"] == f"flink:{env['FLINK_VERSION']}"
    containers = deployment["spec"]["taskManager"]["podTemplate"]["spec"]["containers"]
    (pool,) = [c for c in containers if c["name"] == "beam-worker-pool"]
    assert pool["image"] == env["IMAGE"] and pool["args"] == ["--worker_pool"]
    assert [p["containerPort"] for p in pool["ports"]] == [int(env["WORKER_POOL_PORT"])]

    argv = command_argv(
        REPO / "deploy" / "flink" / "submit.sh",
        {
            "INPUT": "gs://b/n/*.parquet",
            "OUTPUT": "gs://b/o",
            "MODEL": "gs://b/m",
            "FLINK_REST": "h:8081",
            "PARALLELISM": "4",
            **env,
        },
    )
    config, pipeline_args = parse_args(argv)
    options = PipelineOptions(pipeline_args)
    assert options.view_as(StandardOptions).runner == "FlinkRunner"
    assert options.view_as(PortableOptions).environment_type == "EXTERNAL"
    assert options.view_as(PortableOptions).environment_config == f"localhost:{env['WORKER_POOL_PORT']}"
    flink = options.get_all_options(retain_unknown_options=True)
    assert flink["flink_version"] == env["FLINK_VERSION"] and flink["flink_submit_uber_jar"] is True
    assert flink["parallelism"] == 4
    # Flink-only options Python does not know travel to the job server as given.
    assert flink["number_of_execution_retries"] == "3" and flink["execution_retry_delay"] == "10000"
