"""The job's own command-line options, kept apart from Beam's pipeline options."""

from __future__ import annotations

import argparse
import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from job_core.drift import DEFAULT_TOLERANCE


def warehouse_is_folder(target: str) -> bool:
    """``--warehouse`` names a local folder (the embedded catalog), not a configured catalog's name."""
    return "://" not in target and ("/" in target or target.startswith((".", "~")) or Path(target).is_dir())


# --overlap: the tagger's default for the worker's device (on a GPU, off on a CPU), or forced.
OVERLAP_CHOICES = ("auto", "on", "off")


@dataclass(frozen=True)
class JobConfig:
    """Typed, validated settings of one tag_notes run."""

    inputs: tuple[str, ...]
    output: str
    model: str | None = None
    passthrough: tuple[str, ...] = ()
    max_note_chars: int = 1_000_000
    batch_tokens: int | None = None
    max_batch_chars: int = 400_000
    device: str | None = None
    dtype: str = "auto"
    overlap: str = "auto"
    quantize: bool = False
    large_model: bool = False
    model_copies: int | None = None
    id_column: str = "note_id"
    text_column: str = "text"
    rows_per_item: int = 20_000
    max_failed_fraction: float = 0.001
    publish: str = "auto"
    context: bool = True
    codes: bool = True
    codes_k: int = 5
    code_index: str | None = None
    max_drift: float | None = None
    accept_drift: bool = False
    drift_tolerance: float = DEFAULT_TOLERANCE
    warehouse: str | None = None
    namespace: str = "clinical_ner"
    run_id: str | None = None
    run_date: str | None = None
    incremental: bool = False

    def __post_init__(self) -> None:
        if self.incremental and self.warehouse is None:
            raise ValueError("expected --warehouse with --incremental (the warehouse knows last night's notes)")
        if self.run_date is not None:
            try:
                datetime.date.fromisoformat(self.run_date)
            except ValueError:
                raise ValueError(f"expected --run-date YYYY-MM-DD, got {self.run_date!r}") from None
        if self.run_id is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", self.run_id):
            raise ValueError(f"expected --run-id of letters, digits, '_', '.' and '-', got {self.run_id!r}")
        if not self.namespace or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.namespace):
            raise ValueError(f"expected --namespace to be an identifier, got {self.namespace!r}")
        if self.max_drift is not None and not self.max_drift > 0:
            raise ValueError(f"expected --max-drift > 0 (a relative change, e.g. 0.3), got {self.max_drift}")
        if not self.drift_tolerance > 0:
            raise ValueError(f"expected --drift-tolerance > 0, got {self.drift_tolerance}")
        if not self.inputs:
            raise ValueError("expected at least one --input, got none")
        if not self.output:
            raise ValueError("expected an --output folder, got an empty one")
        for name in ("max_note_chars", "batch_tokens", "max_batch_chars", "rows_per_item", "codes_k"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"expected --{name.replace('_', '-')} >= 1, got {getattr(self, name)}")
        if self.dtype not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"expected --dtype auto, float32 or bfloat16, got {self.dtype!r}")
        if self.overlap not in OVERLAP_CHOICES:
            raise ValueError(f"expected --overlap {', '.join(OVERLAP_CHOICES)}, got {self.overlap!r}")
        if self.model_copies is not None and self.model_copies < 1:
            raise ValueError(f"expected --model-copies >= 1, got {self.model_copies}")
        if not 0.0 <= self.max_failed_fraction <= 1.0:
            raise ValueError(f"expected --max-failed-fraction between 0 and 1, got {self.max_failed_fraction}")
        if self.publish not in ("auto", "swap", "versioned"):
            raise ValueError(f"expected --publish auto, swap or versioned, got {self.publish!r}")
        if not self.id_column or not self.text_column or self.id_column == self.text_column:
            raise ValueError(
                f"expected two distinct --id-column and --text-column names, got {self.id_column!r} and "
                f"{self.text_column!r}"
            )
        if {self.id_column, self.text_column} & set(self.passthrough):
            raise ValueError(
                f"expected --passthrough columns other than the id and text columns, got {list(self.passthrough)}"
            )
        if len(set(self.passthrough)) != len(self.passthrough):
            raise ValueError(f"expected distinct --passthrough columns, got {list(self.passthrough)}")


BEAM_HELP = "Options not listed here are Beam pipeline options (--runner, --direct_num_workers, ...)."


def build_parser(prog: str = "tag-notes", engine_help: str = BEAM_HELP) -> argparse.ArgumentParser:
    """The job's options, the same for every engine; an engine adds its own (``engine_help`` says how)."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Tag clinical notes (Parquet) with a BERT-CRF model and write entity tables. " + engine_help,
    )
    p.add_argument(
        "--input",
        action="append",
        required=True,
        metavar="GLOB",
        help="Parquet file or glob (local, gs://, s3://); repeat for several",
    )
    p.add_argument(
        "--output",
        default=None,
        metavar="DIR",
        help="output folder; a re-run replaces its contents (default with a --warehouse folder: WAREHOUSE/output)",
    )
    p.add_argument(
        "--warehouse",
        default=None,
        metavar="PATH_OR_NAME",
        help="also commit the night to Apache Iceberg tables: a local folder is the embedded catalog (SQLite at "
        "PATH/catalog.db), anything else the name of a catalog configured for pyiceberg",
    )
    p.add_argument("--namespace", default="clinical_ner", help="the warehouse namespace (default: %(default)s)")
    p.add_argument(
        "--run-id",
        default=None,
        help="the run's id (default: a new one); rerun a failed night with its id to complete its warehouse commit",
    )
    p.add_argument(
        "--incremental",
        action="store_true",
        help="with --warehouse: skip notes whose content and model are unchanged since they were tagged; "
        "re-tag amended and new ones",
    )
    p.add_argument("--run-date", default=None, metavar="YYYY-MM-DD", help="the night's date (default: today, UTC)")
    p.add_argument(
        "--model", default=None, help="model folder (local, gs://, s3://) or hub name (default: the bundled model)"
    )
    p.add_argument(
        "--id-column",
        default="note_id",
        help="input column holding the note id: string or integer, an integer being written as "
        "its decimal string (default: %(default)s)",
    )
    p.add_argument("--text-column", default="text", help="input column holding the note text (default: %(default)s)")
    p.add_argument("--passthrough", default="", metavar="COL,COL", help="input columns to copy onto every entity row")
    p.add_argument(
        "--max-note-chars",
        type=int,
        default=JobConfig.max_note_chars,
        help="longer notes are rejected (default: %(default)s); shorter ones are windowed, never truncated",
    )
    p.add_argument(
        "--batch-tokens",
        type=int,
        default=JobConfig.batch_tokens,
        help="padded sub-words per encoder call (default: 2048 on CPU, 16384 on GPU); "
        "part of what fixes the output bit for bit, so pin it with --dtype on a mixed cluster",
    )
    p.add_argument(
        "--max-batch-chars",
        type=int,
        default=JobConfig.max_batch_chars,
        help="characters per inference batch; batches are filled up to it (default: %(default)s)",
    )
    p.add_argument(
        "--rows-per-item",
        type=int,
        default=JobConfig.rows_per_item,
        help="a row group with more rows is split into work items of this many rows, shared between workers "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--max-failed-fraction",
        type=float,
        default=JobConfig.max_failed_fraction,
        help="if more than this fraction of the notes read fail in inference, the run fails and the previous output "
        "stays in place (default: %(default)s)",
    )
    p.add_argument(
        "--publish",
        default="auto",
        choices=("auto", "swap", "versioned"),
        help="swap: DIR is replaced by renames (local folders); versioned: DIR/runs/<run id>/ plus DIR/LATEST.json "
        "written last (object stores); auto: swap for local paths, else versioned (default: %(default)s)",
    )
    p.add_argument(
        "--no-context",
        dest="context",
        action="store_false",
        help="do not compute each entity's negation, temporality, experiencer and section (the columns stay null)",
    )
    p.add_argument(
        "--no-codes",
        dest="codes",
        action="store_false",
        help="do not rank ICD-10-CM candidate codes for Disease entities (icd10cm_code stays null, no codes "
        "table rows)",
    )
    p.add_argument(
        "--codes-k",
        type=int,
        default=JobConfig.codes_k,
        help="ICD-10-CM candidates per Disease entity in the codes table (default: %(default)s)",
    )
    p.add_argument(
        "--code-index",
        default=None,
        metavar="DIR",
        help="code index folder built by python -m nercore.cli.build_code_index, readable by every worker (default: "
        "$NERCORE_CODE_INDEX, else each machine's cache, built on first use: about 7 minutes on a 2-core CPU)",
    )
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when the worker has one)")
    p.add_argument(
        "--dtype",
        default="auto",
        choices=("auto", "float32", "bfloat16"),
        help="encoder precision; auto: bfloat16 on GPU and on CPUs with native bfloat16 (AVX512-BF16/AMX; ~2.5x faster "
        "than float32 at the same devel F1), else float32. Output never depends on batching, but float32 and "
        "bfloat16 runs can differ in a few entities (default: %(default)s)",
    )
    p.add_argument(
        "--overlap",
        default="auto",
        choices=OVERLAP_CHOICES,
        help="inside each inference batch, tokenise the next 1 MiB chunk and finish the last one while the encoder "
        "runs (Tagger.overlap; only a batch of several chunks overlaps: raise --max-batch-chars); auto: on a GPU, off "
        "on a CPU, where the tokenizer and the encoder already share the cores (default: %(default)s)",
    )
    p.add_argument(
        "--quantize",
        action="store_true",
        help="dynamic int8 quantisation of the encoder (CPU workers; costs 1-2 F1 points)",
    )
    p.add_argument(
        "--large-model", action="store_true", help="one model per machine, shared across processes (Beam's large_model)"
    )
    p.add_argument(
        "--model-copies", type=int, default=None, help="exact number of model copies per machine (e.g. one per GPU)"
    )
    p.add_argument(
        "--max-drift",
        type=float,
        default=None,
        help="refuse to publish (exit 1, previous output kept) when a flagged rate moved by more than this relative "
        "change against the previous published run, e.g. 0.3 (default: off; report.html shows the comparison)",
    )
    p.add_argument(
        "--accept-drift",
        action="store_true",
        help="publish even if --max-drift is exceeded, and record in the summary and report that it was accepted",
    )
    p.add_argument(
        "--drift-tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="relative change beyond which the report flags a rate (default: %(default)s)",
    )
    return p


def parse_args(argv: Sequence[str] | None) -> tuple[JobConfig, list[str]]:
    """Split argv into the job's config and the remaining Beam pipeline arguments."""
    args, pipeline_args = build_parser().parse_known_args(argv)
    return config_from_args(args), pipeline_args


def config_from_args(args: argparse.Namespace) -> JobConfig:
    """The validated config of parsed ``build_parser`` options."""
    passthrough = tuple(c.strip() for c in args.passthrough.split(",") if c.strip())
    output = args.output
    if output is None:
        if args.warehouse is None or not warehouse_is_folder(args.warehouse):
            raise ValueError("expected an --output folder (or a --warehouse folder, whose output it then holds)")
        output = f"{args.warehouse.rstrip('/')}/output"
    return JobConfig(
        inputs=tuple(args.input),
        output=output,
        model=args.model,
        passthrough=passthrough,
        max_note_chars=args.max_note_chars,
        batch_tokens=args.batch_tokens,
        max_batch_chars=args.max_batch_chars,
        device=args.device,
        dtype=args.dtype,
        overlap=args.overlap,
        quantize=args.quantize,
        large_model=args.large_model,
        model_copies=args.model_copies,
        id_column=args.id_column,
        text_column=args.text_column,
        rows_per_item=args.rows_per_item,
        max_failed_fraction=args.max_failed_fraction,
        publish=args.publish,
        context=args.context,
        codes=args.codes,
        codes_k=args.codes_k,
        code_index=args.code_index,
        max_drift=args.max_drift,
        accept_drift=args.accept_drift,
        drift_tolerance=args.drift_tolerance,
        warehouse=args.warehouse,
        namespace=args.namespace,
        run_id=args.run_id,
        run_date=args.run_date,
        incremental=args.incremental,
    )
