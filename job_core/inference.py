"""Tagging the NoteBatches of one inference call, on any engine: settings, load, fallback.

``TaggerSpec`` is what travels to the workers (picklable settings; the model is built in
``load()`` on the worker, as in Beam's model handlers). ``tag_batches`` tags the texts of several
NoteBatches in one ``Tagger`` call; a failing call is retried note by note, so one bad note cannot
sink its neighbours, and a note that still fails gets a reason for the rejects table. Only error
types are logged, never text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from job_core.config import JobConfig
from job_core.note_batch import NoteBatch
from job_core.notes import REASON_INFERENCE
from job_core.tags import BatchTags
from nercore.tagging.results import TaggedTexts, concat_tagged
from nercore.tagging.tagger import Tagger

log = logging.getLogger("job_core.inference")
DTYPES = ("auto", "float32", "bfloat16")


@dataclass(frozen=True)
class TaggerSpec:
    """How each worker loads its tagger (``load``). ``codes``: False, True (the machine's cached
    code index) or an index folder; ``expected_version``: the launcher's model version, which a
    worker must load (``ModelVersionError`` otherwise) rather than write rows of two versions."""

    model: str | None = None
    device: str | None = None
    dtype: str = "auto"
    batch_tokens: int | None = None
    overlap: bool | None = None  # None: the tagger's default for its device
    quantize: bool = False
    expected_version: str | None = None
    context: bool = True
    codes: bool | str = False
    codes_k: int | None = None

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"expected dtype {', '.join(DTYPES)}, got {self.dtype!r}")

    def load(self) -> Tagger:
        dtype = None if self.dtype == "auto" else getattr(torch, self.dtype)
        tagger = Tagger.load(
            self.model,
            self.device,
            batch_tokens=self.batch_tokens,
            dtype=dtype,
            quantize=self.quantize,
            expected_version=self.expected_version,
            context=self.context,
            codes=self.codes,
            codes_k=self.codes_k,
        )
        if self.overlap is not None:
            tagger.overlap = self.overlap
        log.info("loaded tagger %s (version %s) on %s", tagger.name, tagger.version, tagger.device)
        return tagger


def tagger_spec(config: JobConfig, model_version: str) -> TaggerSpec:
    """What every worker loads: the config's model settings, pinned to the launcher's model version."""
    return TaggerSpec(
        model=config.model,
        device=config.device,
        dtype=config.dtype,
        batch_tokens=config.batch_tokens,
        overlap={"on": True, "off": False}.get(config.overlap),
        quantize=config.quantize,
        expected_version=model_version,
        context=config.context,
        codes=(config.code_index or True) if config.codes else False,
        codes_k=config.codes_k,
    )


def tag_batches(tagger, batch: Sequence[NoteBatch]) -> list[tuple[NoteBatch, BatchTags]]:
    """``(notes, tags)`` for each NoteBatch; all texts are tagged in one ``tag_columns`` call when
    it succeeds, else note by note, a note that still fails getting ``"inference_failed:<Error>"``."""
    texts = [text for notes in batch for text in notes.texts]
    try:
        tagged = tagger.tag_columns(texts)
        failures: list[str | None] = [None] * len(texts)
    except Exception as err:  # noqa: BLE001 - any failure falls back to one note at a time
        log.warning("batch of %d notes failed (%s); retrying one by one", len(texts), type(err).__name__)
        ids = [note_id for notes in batch for note_id in notes.note_ids]
        parts, failures = [], []
        for note_id, text in zip(ids, texts):
            part, failure = tag_one(tagger, note_id, text)
            parts.append(part)
            failures.append(failure)
        tagged = concat_tagged(parts) if parts else tagger.tag_columns([])
    out, at = [], 0
    for notes in batch:
        out.append((notes, BatchTags(tagged.slice(at, at + len(notes)), tuple(failures[at : at + len(notes)]))))
        at += len(notes)
    return out


def tag_one(tagger, note_id: str, text: str) -> tuple[TaggedTexts, str | None]:
    """One note's tagging, or no entities and the reason it failed."""
    try:
        return tagger.tag_columns([text]), None
    except Exception as err:  # noqa: BLE001 - recorded as a reject, never raised
        log.warning("note_id=%s failed in inference (%s)", note_id, type(err).__name__)
        empty = TaggedTexts.empty(
            1,
            context=tagger.context is not None,
            linked=tagger.linker is not None,
            precision=tagger.precision,
            model_version=tagger.version,
        )
        return empty, f"{REASON_INFERENCE}:{type(err).__name__}"
