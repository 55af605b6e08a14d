"""``Tagger``: the single inference entry point (load once, then ``tag`` many texts).

Tagging runs in three stages, as in transformers' token-classification pipeline:

1. ``preprocess`` (pure; array operations over all texts, ``nercore.tagging.token_batch``):
   tokenise with offsets, cut each text into overlapping windows, and give each word to the
   window where it is most central.
2. ``forward`` (the only torch step): windows of all texts, sorted by length and packed into
   batches of fixed shapes (``nercore.tagging.batching``) through encoder and linear layer → one
   emission row per word.
3. ``postprocess`` (``nercore.tagging.decoding``): each text's word emissions stitched into one
   sequence, decoded by a batched, BIO-constrained Viterbi with forward-backward marginals,
   then the BIO tags of all texts turned into character spans at once, with their clinical
   context (``nercore.context``) and ICD-10-CM codes (``nercore.codes``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import groupby
from operator import itemgetter
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedTokenizerFast

from nercore.codes.linker import CodeLinker
from nercore.context.engine import ContextFinder
from nercore.context.rules import ContextRules
from nercore.entity import Entity
from nercore.entity_columns import EntityColumns
from nercore.tagging.batching import BatchShapes, chunk_bounds
from nercore.tagging.decoding import WordLabels, decode_words, entity_spans
from nercore.tagging.device import (
    default_batch_tokens,
    encoder_precision,
)
from nercore.tagging.loading import load_parts
from nercore.tagging.model import BertCrf
from nercore.tagging.overlap import overlapped
from nercore.tagging.results import TaggedTexts, TagResult, concat_tagged
from nercore.tagging.token_batch import Prepared, encode_batch, plan_windows, width_batch_arrays

log = logging.getLogger(__name__)

# A pipelined chunk holds up to this many texts and characters: large enough that length-sorted
# batches are full and the CRF's per-step loop runs over many texts at once (on the transcriptions
# 1 MiB of text decodes 1.5x faster than 256 KiB: a long note's steps are shared by more rows), small
# enough that tokenising the next chunk overlaps the encoder of this one.
DEFAULT_CHUNK_TEXTS = 4096
DEFAULT_CHUNK_CHARS = 1 << 20
# Padded steps × rows per CRF batch: bounds the decoder's memory (about 50 MB) on very long notes.
DECODE_BUDGET = 1 << 18


class Tagger:
    """Tags entity mentions in raw texts with a BERT-CRF model.

    Build it with ``Tagger.load``. It is safe to share one tagger between threads.
    """

    def __init__(
        self,
        model: BertCrf,
        tokenizer: PreTrainedTokenizerFast,
        device: torch.device,
        *,
        batch_tokens: int | None = None,
        name: str = "",
        version: str = "",
        context: ContextFinder | None = None,
        linker: CodeLinker | None = None,
    ):
        self.shapes = BatchShapes(batch_tokens or default_batch_tokens(device), model.settings.max_length)
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("expected a fast tokenizer (offsets are needed), got a slow one")
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.name, self.version = name, version
        self.chunk_texts, self.chunk_chars = DEFAULT_CHUNK_TEXTS, DEFAULT_CHUNK_CHARS
        self.overlap = device.type != "cpu"  # tokenise the next chunk while this one runs (see tag_detailed)
        self.context = context  # sets each entity's negation, temporality, experiencer, section
        self.linker = linker  # ICD-10-CM candidates of Disease entities
        self.settings = model.settings
        self.label_set = model.label_set
        self.precision = encoder_precision(model.encoder)
        self._special = (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id or 0)
        self._crf = tuple(t.to(device) for t in model.crf_scores())
        labels = self.label_set.labels
        self._is_begin = np.array([lab.startswith("B-") for lab in labels])
        self._is_inside = np.array([lab.startswith("I-") for lab in labels])
        self._type_names = np.array([lab[2:] if lab != "O" else "" for lab in labels], dtype=object)

    @property
    def batch_tokens(self) -> int:
        return self.shapes.batch_tokens

    @classmethod
    def load(
        cls,
        model: str | Path | None = None,
        device: str | torch.device | None = None,
        *,
        batch_tokens: int | None = None,
        dtype: torch.dtype | None = None,
        quantize: bool = False,
        max_length: int | None = None,
        stride: int | None = None,
        expected_version: str | None = None,
        context: bool | ContextRules = True,
        codes: bool | str | Path = False,
        codes_k: int | None = None,
    ) -> Tagger:
        """Load a saved model folder (the bundled model when ``model`` is None).

        The arguments are those of ``nercore.tagging.loading.load_parts``, which documents them
        and the errors it raises.
        """
        parts = load_parts(
            model,
            device,
            dtype=dtype,
            quantize=quantize,
            max_length=max_length,
            stride=stride,
            expected_version=expected_version,
            context=context,
            codes=codes,
            codes_k=codes_k,
        )
        return cls(
            parts.model,
            parts.tokenizer,
            parts.device,
            batch_tokens=batch_tokens,
            name=parts.name,
            version=parts.version,
            context=parts.context,
            linker=parts.linker,
        )

    # -- stage 1 ---------------------------------------------------------------------------
    def preprocess(self, texts: Sequence[str]) -> Prepared:
        """Tokenise texts and cut them into windows (no torch; array operations over all texts)."""
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"expected texts of type str, got {type(text).__name__} at index {i}")
        tokens = encode_batch(self.tokenizer, list(texts))
        return Prepared(tokens, plan_windows(tokens, self.settings.window, self.settings.stride))

    # -- stage 2 ---------------------------------------------------------------------------
    @torch.inference_mode()
    def forward(self, prepared: Prepared) -> torch.Tensor:
        """Word emissions of every word of every text, concatenated in text order.

        Returns:
            shape (total_words, labels), float32, on the tagger's device.
        """
        total_words = int(prepared.tokens.word_offsets[-1])
        out = torch.zeros((total_words, len(self.label_set)), dtype=torch.float32, device=self.device)
        pin = self.device.type == "cuda"
        for arrays in self._batch_arrays(prepared):
            # Every host array is built and sent before the encoder is queued: a later copy from
            # pageable memory would make the host wait for the GPU instead of preparing the next batch.
            tensors = [torch.from_numpy(a) for a in arrays]
            if pin:
                tensors = [t.pin_memory() for t in tensors]
            ids_t, attention_t, positions_t, rows_t, cols_t, target_t = (
                t.to(self.device, non_blocking=True) for t in tensors
            )
            emissions = self.model.word_emissions(ids_t, attention_t, positions_t)  # shape: (rows, width, labels)
            out.index_copy_(0, target_t, emissions[rows_t, cols_t].float())
        return out

    def _batch_arrays(self, prepared: Prepared):
        """The host arrays of each encoder call (``batch_arrays``), built a width at a time."""
        windows = prepared.windows
        words = windows.words_by_window()
        groups = self.shapes.batches(windows)
        widths = self.shapes.padded_widths(windows.num_tokens[[g[0] for g in groups]]).tolist() if groups else []
        for width, same in groupby(zip(widths, groups), key=itemgetter(0)):  # groups of one width are consecutive
            yield from width_batch_arrays(
                prepared.tokens,
                windows,
                [g for _, g in same],
                words,
                width,
                self.shapes.rows_per_batch(width),
                self._special,
            )

    # -- stage 3 ---------------------------------------------------------------------------
    def decode(self, prepared: Prepared, emissions: torch.Tensor) -> WordLabels:
        """Constrained Viterbi and marginals over each text's whole word sequence."""
        return decode_words(emissions, prepared.tokens.word_offsets, self._crf, DECODE_BUDGET)

    def postprocess_columns(self, texts: Sequence[str], prepared: Prepared, emissions: torch.Tensor) -> EntityColumns:
        """All texts' entities as columns: decoded labels to spans and (with ``context``) their
        clinical context, for all texts at once; no object per entity."""
        tokens = prepared.tokens
        spans = entity_spans(
            self.decode(prepared, emissions),
            tokens.word_offsets,
            tokens.word_start_char,
            tokens.word_end_char,
            self._is_begin,
            self._is_inside,
        )
        context = None
        if self.context is not None:
            context = self.context.find_columns(texts, spans.text, spans.start_char, spans.end_char)
        return EntityColumns(
            texts=len(texts),
            text=np.asarray(spans.text, dtype=np.int64),
            entity_type=self._type_names[spans.label].tolist(),
            start_char=np.asarray(spans.start_char, dtype=np.int64),
            end_char=np.asarray(spans.end_char, dtype=np.int64),
            score=np.asarray(spans.score, dtype=np.float64),
            context=context,
        )

    def postprocess(self, texts: Sequence[str], prepared: Prepared, emissions: torch.Tensor) -> list[list[Entity]]:
        """Each text's entities (``postprocess_columns`` as one ``Entity`` per span)."""
        return self.postprocess_columns(texts, prepared, emissions).entities(texts)

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        """Entities of each text, in order of appearance.

        Raises:
            ValueError: if an item is not a string.
        """
        return [result.entities for result in self.tag_detailed(texts)]

    def tag_detailed(self, texts: Sequence[str]) -> list[TagResult]:
        """Like ``tag``, with each text's window and sub-word counts.

        Texts are processed in chunks of at most ``chunk_texts`` texts and ``chunk_chars``
        characters (at least one text each). With ``overlap`` (the default on a GPU) the chunks
        flow through three stages at once: while chunk ``i`` runs through the encoder, chunk
        ``i + 1`` is tokenised on one background thread and chunk ``i - 1`` decoded and turned into
        entities (context, codes) on another, so the device waits for neither. On a CPU the encoder
        and the tokenizer (whose Rust core already uses every core) compete for the same cores, so
        it is off there by default: on 2 cores it made the host path 12% slower on the AVX2 EPYC
        (older code), and 1.06-1.09x faster on the AVX512-BF16 EPYC with a no-layer model, with no
        gain with the bundled model, whose encoder takes the time (``bench.host_path``). Results do
        not depend on the chunking or the overlap.
        """
        texts = self._checked(texts)
        parts = self._tag_chunks(texts)
        return [r for part, (a, b) in parts for r in part.results(texts[a:b])]

    def tag_columns(self, texts: Sequence[str]) -> TaggedTexts:
        """Like ``tag_detailed``, with all texts' entities as columns (``EntityColumns``) and no
        ``Entity`` objects: what a job turns into table rows."""
        texts = self._checked(texts)
        parts = self._tag_chunks(texts)
        return parts[0][0] if len(parts) == 1 else concat_tagged([part for part, _ in parts])

    @staticmethod
    def _checked(texts: Sequence[str]) -> list[str]:
        if isinstance(texts, str):
            raise ValueError("expected a sequence of texts, got one str (wrap it in a list)")
        return list(texts)

    def _tag_chunks(self, texts: list[str]) -> list[tuple[TaggedTexts, tuple[int, int]]]:
        lengths = [len(t) if isinstance(t, str) else 0 for t in texts]
        bounds = chunk_bounds(lengths, self.chunk_texts, self.chunk_chars)
        chunks = [texts[a:b] for a, b in bounds]
        if len(chunks) <= 1:
            return [(self._run(texts, self.preprocess(texts)), (0, len(texts)))]
        if not self.overlap:
            parts = [self._run(chunk, self.preprocess(chunk)) for chunk in chunks]
        else:
            parts = overlapped(chunks, self.preprocess, self.forward, lambda *a: [self._finish(*a)])
        return list(zip(parts, bounds))

    def _run(self, texts: Sequence[str], prepared: Prepared) -> TaggedTexts:
        return self._finish(texts, prepared, self.forward(prepared))

    def _finish(self, texts: Sequence[str], prepared: Prepared, emissions: torch.Tensor) -> TaggedTexts:
        """Stage 3 and the codes, with each text's windows and sub-words."""
        columns = self.postprocess_columns(texts, prepared, emissions)
        if self.linker is not None:
            columns = self.linker.link_columns(texts, columns)
        return TaggedTexts(
            columns=columns,
            windows=np.bincount(prepared.windows.text, minlength=len(texts)).astype(np.int64),
            tokens=np.asarray(prepared.tokens.token_counts, dtype=np.int64),
            precision=self.precision,
            model_version=self.version,
        )
