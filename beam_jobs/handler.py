"""A Beam ``ModelHandler`` over ``nercore.Tagger``: picklable settings, model built in load_model()."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from apache_beam.ml.inference.base import ModelHandler

from job_core.inference import TaggerSpec, tag_batches
from job_core.note_batch import NoteBatch
from job_core.tags import BatchTags
from nercore.tagging.tagger import Tagger

METRICS_NAMESPACE = "clinical_ner"


def batch_size(batch: NoteBatch) -> int:
    """Inference-batch weight of a NoteBatch: its characters (plus one a note, so empty weighs something)."""
    return batch.chars()


class TaggerModelHandler(ModelHandler[NoteBatch, tuple[NoteBatch, BatchTags], Tagger]):
    """Tags NoteBatches; yields ``(batch, tags)``: the batch's entities as columns and each note's
    failure, if any (``job_core.inference.tag_batches``).

    All the texts of the NoteBatches that Beam groups into one inference batch are tagged in one call.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        spec: TaggerSpec | None = None,
        max_batch_chars: int = 400_000,
        large_model: bool = False,
        model_copies: int | None = None,
        **settings,
    ):
        """``spec``: how workers load the tagger; without it, ``TaggerSpec(model=model, **settings)``
        (``device``, ``dtype``, ``context``, ...: the fields of ``job_core.inference.TaggerSpec``)."""
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
        if spec is not None and (model is not None or settings):
            raise ValueError("expected a spec or a model and its settings, got both")
        self.spec = spec if spec is not None else TaggerSpec(model=model, **settings)

    def load_model(self) -> Tagger:
        return self.spec.load()

    def run_inference(
        self, batch: Sequence[NoteBatch], model: Tagger, inference_args: dict | None = None
    ) -> Iterable[tuple[NoteBatch, BatchTags]]:
        return tag_batches(model, batch)

    def get_num_bytes(self, batch: Sequence[NoteBatch]) -> int:
        return sum(len(text.encode("utf-8")) for notes in batch for text in notes.texts)

    def get_metrics_namespace(self) -> str:
        return METRICS_NAMESPACE
