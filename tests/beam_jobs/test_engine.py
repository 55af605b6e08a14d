"""Runner failures in one line: the causes the runners report, and the pre-flight checks."""

from __future__ import annotations

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from beam_jobs.engine import check_job_endpoint, engine_failed, job_endpoint, prism_arguments, runner_cause
from job_core.failures import EngineFailed


def failure(message: str) -> RuntimeError:
    try:
        raise RuntimeError(message)
    except RuntimeError as err:
        return err


@pytest.mark.parametrize(
    ("message", "said"),
    [
        (
            "Pipeline job-001 failed in state FAILED: bundle inst006 stage-008 failed:SDK worker disconnected: "
            "worker[x], 2 active instructions",
            "an SDK worker disconnected (stage-008)",
        ),
        ("failed: panic: send on closed channel", "an SDK worker disconnected"),
        (
            "Traceback ... ModuleNotFoundError: No module named 'apache_beam'",
            "the SDK workers lack the Python module apache_beam (install the project where the worker pool runs)",
        ),
        ("StatusCode.UNAVAILABLE failed to connect to all addresses", "cannot reach the runner"),
        (
            "jobFailed job-001[job]: prism worker[job-001[job]_ref_Environment_default_environment_1] didn't get "
            "control connection to localhost:18073 after 1m0s",
            "no SDK worker connected within 1m0s (does the worker pool start workers with a Python that has the "
            "project installed? It uses the python first on its PATH)",
        ),
        (
            "Pipeline failed: ModelVersionError: model /m is version 1, expected 2 (the version the run was launched "
            "with) [while running 'TagNotes/Tag']",
            "a worker refused the model: model /m is version 1, expected 2 (the version the run was launched with) "
            "(step TagNotes/Tag)",
        ),
        ("something no runner has said before", "RuntimeError"),
    ],
)
def test_runner_messages_become_one_cause(message, said):
    assert runner_cause(failure(message)) == said


def test_the_error_line_names_the_cause_and_the_detail_goes_to_a_file(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    err = engine_failed(failure("stage-003 failed: SDK worker disconnected"), "run-1", PipelineOptions([]))
    assert isinstance(err, EngineFailed)
    text = str(err)
    assert text.startswith("the runner failed the job: an SDK worker disconnected (stage-003); nothing published")
    log = tmp_path / "clinical-ner" / "run-1.log"
    assert f"(detail: {log})" in text and "Traceback" in log.read_text()


def test_only_a_separate_job_server_is_checked():
    assert job_endpoint(PipelineOptions(["--runner", "PortableRunner", "--job_endpoint", "embed"])) is None
    assert job_endpoint(PipelineOptions([])) is None
    assert job_endpoint(PipelineOptions(["--runner", "PortableRunner", "--job_endpoint", "h:1"])) == "h:1"


def test_an_endpoint_that_does_not_answer_fails_before_submission():
    options = PipelineOptions(["--runner", "PortableRunner", "--job_endpoint", "localhost:9"])
    with pytest.raises(EngineFailed, match="cannot reach the job server at localhost:9"):
        check_job_endpoint(options, timeout=1)


def test_prism_location_comes_from_the_environment_only_when_not_given():
    args = ["--runner", "PrismRunner"]
    assert prism_arguments(args, {"NERCORE_PRISM": "/opt/prism"}) == [*args, "--prism_location", "/opt/prism"]
    given = [*args, "--prism_location=/elsewhere"]
    assert prism_arguments(given, {"NERCORE_PRISM": "/opt/prism"}) == given
    assert prism_arguments(["--runner", "PortableRunner"], {"NERCORE_PRISM": "/opt/prism"}) == [
        "--runner",
        "PortableRunner",
    ]
    assert prism_arguments(args, {}) == args
