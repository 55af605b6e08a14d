"""A Beam ``ModelHandler`` over ``nercore.Tagger``: picklable settings, model built in load_model()."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import torch
from apache_beam.ml.inference.base import ModelHandler

from beam_jobs.note_batch import NoteBatch
from beam_jobs.notes import REASON_INFERENCE
from nercore.tagging.tagger import Tagger, TagResult

log = logging.getLogger(__name__)
METRICS_NAMESPACE = "clinical_ner"


def batch_size(batch: NoteBatch) -> int:
    """Inference-batch weight of a NoteBatch: its characters (plus one a note, so empty weighs something)."""
    return batch.chars()


class TaggerModelHandler(ModelHandler[NoteBatch, tuple[NoteBatch, list], Tagger]):
    """Tags NoteBatches; yields ``(batch, results)``, one result a note: a ``TagResult`` or
    ``"inference_failed:<Error>"``.

    All the texts of the NoteBatches that Beam groups into one inference batch are tagged in one
    call. A failing call is retried note by note, so one bad note cannot sink its neighbours; a
    note that still fails gets a reason for the rejects table. Only error types are logged.
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
            element_size_fn=batch_size,
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
            self._model,
            self._device,
            batch_tokens=self._batch_tokens,
            dtype=dtype,
            quantize=self._quantize,
            expected_version=self._expected_version,
            context=self._context,
            codes=self._codes,
            codes_k=self._codes_k,
        )
        log.info("loaded tagger %s (version %s) on %s", tagger.name, tagger.version, tagger.device)
        return tagger

    def run_inference(
        self, batch: Sequence[NoteBatch], model: Tagger, inference_args: dict | None = None
    ) -> Iterable[tuple[NoteBatch, list]]:
        texts = [text for notes in batch for text in notes.texts]
        try:
            results: list[TagResult | str] = list(model.tag_detailed(texts))
        except Exception as err:  # noqa: BLE001 - any failure falls back to one note at a time
            log.warning("batch of %d notes failed (%s); retrying one by one", len(texts), type(err).__name__)
            ids = [note_id for notes in batch for note_id in notes.note_ids]
            results = [self._tag_one(model, note_id, text) for note_id, text in zip(ids, texts)]
        out, at = [], 0
        for notes in batch:
            out.append((notes, results[at : at + len(notes)]))
            at += len(notes)
        return out

    @staticmethod
    def _tag_one(model: Tagger, note_id: str, text: str) -> TagResult | str:
        try:
            return model.tag_detailed([text])[0]
        except Exception as err:  # noqa: BLE001 - recorded as a reject, never raised
            log.warning("note_id=%s failed in inference (%s)", note_id, type(err).__name__)
            return f"{REASON_INFERENCE}:{type(err).__name__}"

    def get_num_bytes(self, batch: Sequence[NoteBatch]) -> int:
        return sum(len(text.encode("utf-8")) for notes in batch for text in notes.texts)

    def get_metrics_namespace(self) -> str:
        return METRICS_NAMESPACE
