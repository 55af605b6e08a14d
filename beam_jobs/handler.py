"""A Beam ``ModelHandler`` over ``nercore.Tagger``: picklable settings, model built in load_model()."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from apache_beam.ml.inference.base import ModelHandler

from beam_jobs.notes import REASON_INFERENCE
from nercore.tagger import Tagger, TagResult

log = logging.getLogger(__name__)
METRICS_NAMESPACE = "clinical_ner"


def note_size(note: dict) -> int:
    """Batch weight of a note: its length in characters (plus one so empty weighs something)."""
    return len(note["text"]) + 1


class TaggerModelHandler(ModelHandler[dict, tuple[dict, Any], Tagger]):
    """Tags note dicts; yields ``(note, TagResult)`` or ``(note, "inference_failed:<Error>")``.

    A failing batch is retried note by note, so one bad note cannot sink its neighbours; a note
    that still fails is yielded with a reason for the rejects table. Only error types are logged.
    """

    def __init__(
        self,
        model: str | None,
        *,
        device: str | None = None,
        dtype: str = "auto",
        batch_tokens: int | None = None,
        quantize: bool = False,
        max_batch_chars: int = 400_000,
        large_model: bool = False,
        model_copies: int | None = None,
        expected_version: str | None = None,
        context: bool = True,
        codes: bool | str = False,
        codes_k: int | None = None,
    ):
        # With element_size_fn, Beam's batch sizes are measured in its units: characters here.
        # Batches are filled to max_batch_chars (flushed early only at a bundle's end): Beam's
        # adaptive sizing would keep them near the minimum, and Tagger packs large batches best.
        super().__init__(
            min_batch_size=max_batch_chars,
            max_batch_size=max_batch_chars,
            element_size_fn=note_size,
            large_model=large_model,
            model_copies=model_copies,
        )
        self._model = model
        self._device = device
        self._dtype = dtype
        self._batch_tokens = batch_tokens
        self._quantize = quantize
        self._expected_version = expected_version
        self._context = context
        self._codes = codes  # False, True (the machine's cached code index) or an index folder
        self._codes_k = codes_k

    def load_model(self) -> Tagger:
        dtype = None if self._dtype == "auto" else getattr(torch, self._dtype)
        # A worker whose model is not the launcher's fails here (ModelVersionError) rather than
        # writing rows of two model versions into one run.
        tagger = Tagger.load(
            self._model, self._device, batch_tokens=self._batch_tokens, dtype=dtype, quantize=self._quantize, expected_version=self._expected_version,
            context=self._context, codes=self._codes, codes_k=self._codes_k,
        )
        log.info("loaded tagger %s (version %s) on %s", tagger.name, tagger.version, tagger.device)
        return tagger

    def run_inference(self, batch: Sequence[dict], model: Tagger, inference_args: dict | None = None) -> Iterable[tuple[dict, Any]]:
        try:
            results: list[TagResult | str] = list(model.tag_detailed([n["text"] for n in batch]))
        except Exception as err:  # noqa: BLE001 - any failure falls back to one note at a time
            log.warning("batch of %d notes failed (%s); retrying one by one", len(batch), type(err).__name__)
            results = [self._tag_one(model, note) for note in batch]
        return list(zip(batch, results))

    @staticmethod
    def _tag_one(model: Tagger, note: dict) -> TagResult | str:
        try:
            return model.tag_detailed([note["text"]])[0]
        except Exception as err:  # noqa: BLE001 - recorded as a reject, never raised
            log.warning("note_id=%s failed in inference (%s)", note["note_id"], type(err).__name__)
            return f"{REASON_INFERENCE}:{type(err).__name__}"

    def get_num_bytes(self, batch: Sequence[dict]) -> int:
        return sum(len(n["text"].encode("utf-8")) for n in batch)

    def get_metrics_namespace(self) -> str:
        return METRICS_NAMESPACE
