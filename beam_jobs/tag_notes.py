"""The nightly job: Parquet notes in, entity and rejects tables plus summary.json out.

``python -m beam_jobs.tag_notes --input GLOB [--input GLOB ...] --output DIR [--model PATH]
[--passthrough COL,COL] [job options] [Beam pipeline options]``

Before any worker starts it checks every input file's footer, the model folder and the output
folder. Per-row faults never stop the job: such rows go to the rejects table with a reason.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

import beam_jobs
from beam_jobs.config import JobConfig, parse_args
from beam_jobs.handler import METRICS_NAMESPACE, TaggerModelHandler
from beam_jobs.inputs import InputPlan, ReadRowGroup, plan_inputs
from beam_jobs.notes import reject, resolve_duplicates, row_fault
from beam_jobs.outputs import COUNTS_FILE, SUMMARY_FILE, check_output_folder, publish, read_json, staging_path, write_json
from beam_jobs.rows import entity_row
from schemas import REJECT_SCHEMA, SchemaError, entity_schema

log = logging.getLogger("beam_jobs.tag_notes")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str


def inspect_model(model: str | None) -> ModelInfo:
    """Resolve and check the model folder on the launcher, so a bad path fails before the pipeline."""
    from nercore.model import read_settings
    from nercore.sources import folder_version, resolve_model_folder

    folder = resolve_model_folder(model)
    settings = read_settings(folder)
    return ModelInfo(settings.model_name(folder), folder_version(folder))


def merge_counts(a: dict, b: dict) -> dict:
    """Sum two nested count dicts."""
    out = dict(a)
    for key, value in b.items():
        out[key] = merge_counts(out.get(key, {}), value) if isinstance(value, dict) else out.get(key, 0) + value
    return out


class MergeCounts(beam.CombineFn):
    def create_accumulator(self) -> dict:
        return {}

    def add_input(self, accumulator: dict, element: dict) -> dict:
        return merge_counts(accumulator, element)

    def merge_accumulators(self, accumulators) -> dict:
        out: dict = {}
        for a in accumulators:
            out = merge_counts(out, a)
        return out

    def extract_output(self, accumulator: dict) -> dict:
        return accumulator


class CheckRow(beam.DoFn):
    """Route each row: a taggable note, or a reject with its reason."""

    def __init__(self, max_chars: int):
        self._max_chars = max_chars
        self._read = Metrics.counter(METRICS_NAMESPACE, "notes_read")

    def process(self, row: dict):
        self._read.inc()
        reason = row_fault(row, self._max_chars)
        if reason is None:
            yield row
        else:
            yield beam.pvalue.TaggedOutput("reject", reject(row, reason))


class ToEntityRows(beam.DoFn):
    """(note, TagResult) → entity rows, plus a count record; a failed note → a reject."""

    def __init__(self, passthrough: Sequence[str], model: ModelInfo, pipeline_version: str):
        self._passthrough = tuple(passthrough)
        self._model = model
        self._pipeline_version = pipeline_version
        self._tagged = Metrics.counter(METRICS_NAMESPACE, "notes_tagged")
        self._entities = Metrics.counter(METRICS_NAMESPACE, "entities")
        self._windows = Metrics.counter(METRICS_NAMESPACE, "windows")
        self._tokens = Metrics.counter(METRICS_NAMESPACE, "tokens")

    def process(self, item):
        note, result = item
        if isinstance(result, str):
            yield beam.pvalue.TaggedOutput("reject", reject(note, result))
            return
        by_type: dict[str, int] = {}
        for entity in result.entities:
            by_type[entity.entity_type] = by_type.get(entity.entity_type, 0) + 1
            yield entity_row(note, entity, self._passthrough, self._model.name, self._model.version, self._pipeline_version)
        for entity_type, n in by_type.items():
            Metrics.counter(METRICS_NAMESPACE, f"entities_{entity_type}").inc(n)
        self._tagged.inc()
        self._entities.inc(len(result.entities))
        self._windows.inc(result.windows)
        self._tokens.inc(result.tokens)
        yield beam.pvalue.TaggedOutput(
            "counts",
            {"notes_tagged": 1, "entities": len(result.entities), "entities_by_type": by_type, "windows": result.windows, "tokens": result.tokens,
             "notes_by_precision": {result.precision or "unknown": 1}},
        )


def count_reject(row: dict) -> dict:
    Metrics.counter(METRICS_NAMESPACE, "notes_rejected").inc()
    return {"notes_rejected": 1, "rejects_by_reason": {row["reason"].split(":")[0]: 1}}


class TagNotes(beam.PTransform):
    """Rows → {"entities": entity rows, "rejects": reject rows, "counts": count records}.

    The routing logic of the job, free of any I/O: checks, duplicate rule, inference, rows.
    """

    def __init__(self, handler, max_note_chars: int, passthrough: Sequence[str], model: ModelInfo):
        super().__init__()
        self._handler = handler
        self._max_note_chars = max_note_chars
        self._passthrough = tuple(passthrough)
        self._model = model

    def expand(self, rows):
        checked = rows | "Check" >> beam.ParDo(CheckRow(self._max_note_chars)).with_outputs("reject", main="note")
        unique = (
            checked.note
            | "KeyById" >> beam.Map(lambda r: (r["note_id"], r))
            | "GroupById" >> beam.GroupByKey()
            | "Dedupe" >> beam.FlatMap(_route_duplicates).with_outputs("reject", main="note")
        )
        tagged = (
            unique.note
            | "Tag" >> RunInference(self._handler)
            | "ToRows" >> beam.ParDo(ToEntityRows(self._passthrough, self._model, beam_jobs.__version__)).with_outputs("reject", "counts", main="entity")
        )
        rejects = (checked.reject, unique.reject, tagged.reject) | "AllRejects" >> beam.Flatten()
        read_counts = rows | "CountRead" >> beam.Map(lambda _: {"notes_read": 1})
        reject_counts = rejects | "CountRejects" >> beam.Map(count_reject)
        counts = (
            (read_counts, reject_counts, tagged.counts)
            | "AllCounts" >> beam.Flatten()
            | "Sum" >> beam.CombineGlobally(MergeCounts())
        )
        return {"entities": tagged.entity, "rejects": rejects, "counts": counts}


def _route_duplicates(keyed):
    for kind, row in resolve_duplicates(*keyed):
        yield beam.pvalue.TaggedOutput("reject", row) if kind == "reject" else row


def make_handler(config: JobConfig) -> TaggerModelHandler:
    return TaggerModelHandler(
        config.model, device=config.device, dtype=config.dtype, batch_tokens=config.batch_tokens, quantize=config.quantize,
        max_batch_chars=config.max_batch_chars,
        large_model=config.large_model, model_copies=config.model_copies,
    )


def build(p: beam.Pipeline, config: JobConfig, plan: InputPlan, model: ModelInfo, staging: str, handler=None) -> None:
    """Add the job's transforms to a pipeline: read, tag, write."""
    names = [f.name for f in plan.passthrough]
    rows = (
        p
        | "RowGroups" >> beam.Create(list(plan.row_groups))
        | "Spread" >> beam.Reshuffle()
        | "Read" >> beam.ParDo(ReadRowGroup(names))
    )
    out = rows | "TagNotes" >> TagNotes(handler or make_handler(config), config.max_note_chars, names, model)
    out["entities"] | "WriteEntities" >> beam.io.WriteToParquet(
        f"{staging}/entities", entity_schema(plan.passthrough), file_name_suffix=".parquet"
    )
    out["rejects"] | "WriteRejects" >> beam.io.WriteToParquet(f"{staging}/rejects", REJECT_SCHEMA, file_name_suffix=".parquet")
    out["counts"] | "WriteCounts" >> beam.Map(lambda counts: write_json(f"{staging}/{COUNTS_FILE}", counts))


def default_runner(options: PipelineOptions):
    """FnApiRunner unless --runner is given: it runs offline (DirectRunner first tries Prism)."""
    if options.view_as(StandardOptions).runner:
        return None
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    return FnApiRunner()


def summarise(staging: str, plan: InputPlan, model: ModelInfo, seconds: float) -> dict:
    counts = read_json(f"{staging}/{COUNTS_FILE}")
    summary = {
        "notes_read": counts.get("notes_read", 0),
        "notes_tagged": counts.get("notes_tagged", 0),
        "notes_rejected": counts.get("notes_rejected", 0),
        "entities": counts.get("entities", 0),
        "entities_by_type": dict(sorted(counts.get("entities_by_type", {}).items())),
        "rejects_by_reason": dict(sorted(counts.get("rejects_by_reason", {}).items())),
        "notes_by_precision": dict(sorted(counts.get("notes_by_precision", {}).items())),
        "windows": counts.get("windows", 0),
        "tokens": counts.get("tokens", 0),
        "seconds": round(seconds, 3),
        "input_files": len(plan.files),
        "model_name": model.name,
        "model_version": model.version,
        "pipeline_version": beam_jobs.__version__,
    }
    if summary["notes_tagged"] + summary["notes_rejected"] != summary["notes_read"]:
        raise RuntimeError(
            f"lost notes: read {summary['notes_read']}, tagged {summary['notes_tagged']}, rejected {summary['notes_rejected']}"
        )
    write_json(f"{staging}/{SUMMARY_FILE}", summary)
    from apache_beam.io.filesystems import FileSystems

    FileSystems.delete([f"{staging}/{COUNTS_FILE}"])
    return summary


def run(argv: Sequence[str] | None = None, test_pipeline: beam.Pipeline | None = None, handler=None) -> dict:
    """Check inputs, run the pipeline, publish the output; return the summary.

    Raises:
        SchemaError: an input glob matches nothing or a file's schema is unusable.
        FileNotFoundError, ValueError: a bad model path or option.

    ``handler`` replaces the model handler (tests use a fake tagger).
    """
    config, pipeline_args = parse_args(argv)
    return run_config(config, pipeline_args, test_pipeline, handler)


def run_config(config: JobConfig, pipeline_args: Sequence[str], test_pipeline: beam.Pipeline | None = None, handler=None) -> dict:
    """``run`` with the job's options already parsed (``pipeline_args`` go to Beam)."""
    plan = plan_inputs(config.inputs, config.passthrough)
    model = inspect_model(config.model)
    check_output_folder(config.output)
    run_id = uuid.uuid4().hex[:12]
    staging = staging_path(config.output, run_id)
    log.info("run %s: %d files, %d rows, model %s (%s)", run_id, len(plan.files), plan.rows, model.name, model.version)
    started = time.time()
    if test_pipeline is not None:
        p = test_pipeline
    else:
        options = PipelineOptions(pipeline_args)
        p = beam.Pipeline(runner=default_runner(options), options=options)
    build(p, config, plan, model, staging, handler)
    p.run().wait_until_finish()
    summary = summarise(staging, plan, model, time.time() - started)
    publish(staging, config.output, run_id)
    return summary


def format_summary(summary: dict, output: str) -> str:
    lines = [
        f"notes read      {summary['notes_read']:>10,}",
        f"notes tagged    {summary['notes_tagged']:>10,}",
        f"notes rejected  {summary['notes_rejected']:>10,}",
        f"entities        {summary['entities']:>10,}",
    ]
    lines += [f"  {t:<14}{n:>10,}" for t, n in summary["entities_by_type"].items()]
    if summary["rejects_by_reason"]:
        lines.append("rejects by reason")
        lines += [f"  {r:<30}{n:>6,}" for r, n in summary["rejects_by_reason"].items()]
    precision = ", ".join(f"{p} ({n:,} notes)" for p, n in summary.get("notes_by_precision", {}).items())
    lines += [f"windows {summary['windows']:,}, sub-words {summary['tokens']:,}, {summary['seconds']:.1f} s",
              f"encoder precision: {precision or '-'}",
              f"model {summary['model_name']} ({summary['model_version']})", f"output: {output}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apache_beam", "transformers", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        config, pipeline_args = parse_args(argv)
        summary = run_config(config, pipeline_args)
    except (SchemaError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_summary(summary, config.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
