"""``Tagger``: the single inference entry point (load once, then ``tag`` many texts).

Tagging runs in three stages, as in transformers' token-classification pipeline:

1. ``preprocess`` (pure; array operations over all texts, ``nercore.token_batch``): tokenise
   with offsets, cut each text into overlapping windows, and give each word to the window where
   it is most central.
2. ``forward`` (the only torch step): windows of all texts, sorted by length and packed into
   batches by a sub-word budget, through encoder and linear layer → one emission row per word.
3. ``postprocess`` (``nercore.decoding``): each text's word emissions stitched into one
   sequence, decoded by a batched, BIO-constrained Viterbi with forward-backward marginals on the
   device, then the BIO tags of all texts turned into character spans at once.

A text's windows may ride in different batches; the result does not depend on batching, by
construction: each window is padded to a width fixed by its own length (``padded_width``), and
every encoder call for that width has exactly ``rows_per_batch(width)`` rows, short batches
being filled with empty rows. So the encoder always runs the same kernels on the same shapes,
whichever windows share a batch. Matrix libraries may pick a kernel by the number of rows (oneDNN
with AMX on Intel does: one row gives other sums than three), so a fixed width alone is not
enough; a fixed shape is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from nercore.context import ContextFinder
from nercore.context_rules import ContextRules
from nercore.decoding import WordLabels, decode_words, entity_spans
from nercore.entity import Entity
from nercore.model import BertCrf
from nercore.preprocess import EncodedText
from nercore.sources import ModelVersionError, folder_version, resolve_model_folder
from nercore.token_batch import TokenBatch, WindowPlan, batch_arrays, encode_batch, plan_windows

log = logging.getLogger(__name__)

# Padded sub-words per encoder call (rows × width), by device type. Every call for a width has
# the same shape (see the module docstring), so a short last batch costs up to this much padding:
# on the CPU 2,048 is as fast as larger batches and keeps a lone note cheap; a GPU needs more rows.
DEFAULT_BATCH_TOKENS = {"cpu": 2048, "cuda": 16384}
# A pipelined chunk holds up to this many texts and characters: large enough that length-sorted
# batches are full and the CRF's per-step loop runs over many texts at once (on the transcriptions
# 1 MiB of text decodes 1.5x faster than 256 KiB: a long note's steps are shared by more rows), small
# enough that tokenising the next chunk overlaps the encoder of this one.
DEFAULT_CHUNK_TEXTS = 4096
DEFAULT_CHUNK_CHARS = 1 << 20
# Padded steps × rows per CRF batch: bounds the decoder's memory (about 50 MB) on very long notes.
DECODE_BUDGET = 1 << 18
# Windows are padded up to a multiple of this many positions (see ``Tagger.padded_width``).
WIDTH_STEP = 32


@dataclass(frozen=True)
class Prepared:
    """The preprocessed form of a list of texts: flat sub-words and words, and their windows."""

    tokens: TokenBatch
    windows: WindowPlan

    @property
    def num_tokens(self) -> int:
        return int(self.tokens.token_offsets[-1])

    @property
    def encoded(self) -> list[EncodedText]:
        """Each text as an ``EncodedText`` (views; for inspection and tests)."""
        return [self.tokens.text(i) for i in range(self.tokens.num_texts)]


@dataclass(frozen=True)
class TagResult:
    """One text's entities, with how many windows and sub-words it took, the encoder's
    precision ("float32", "bfloat16", "int8") and the version of the model that tagged it."""

    entities: list[Entity]
    windows: int
    tokens: int
    precision: str = ""
    model_version: str = ""


def native_bf16(device: torch.device) -> bool:
    """Does this device run bfloat16 matrix products natively (CUDA, or a CPU with AVX512-BF16/AMX)?"""
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    try:
        return any(check() for check in checks if check is not None)
    except RuntimeError:
        return False


def default_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 where the device runs it natively (``native_bf16``), else float32.

    On a CPU with AVX512-BF16 or AMX, bfloat16 is about 2.5x faster than float32 at the same
    devel F1 (within 0.05 point, ``bench.precision``), and thanks to fixed window widths its
    output does not depend on batch composition either. Entities can differ from a float32 run
    in a few places, so a job's dtype is part of what makes its output reproducible: pass
    ``dtype=torch.float32`` to get the float32 results on any CPU.
    """
    return torch.bfloat16 if native_bf16(device) else torch.float32


def default_batch_tokens(device: torch.device) -> int:
    """Padded sub-words per encoder call when none is given: 2,048 on the CPU, 16,384 on a GPU."""
    return DEFAULT_BATCH_TOKENS.get(device.type, DEFAULT_BATCH_TOKENS["cpu"])


def choose_device(device: str | torch.device | None) -> torch.device:
    """The given device, or CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"expected a device such as 'cpu' or 'cuda', got {device!r}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("expected a CUDA device to be available for device='cuda', got none")
    return resolved


class Tagger:
    """Tags entity mentions in raw texts with a BERT-CRF model.

    Build it with ``Tagger.load``. It is safe to share one tagger between threads.
    """

    def __init__(
        self,
        model: BertCrf,
        tokenizer,
        device: torch.device,
        *,
        batch_tokens: int | None = None,
        name: str = "",
        version: str = "",
        context: ContextFinder | None = None,
        linker=None,
    ):
        if batch_tokens is None:
            batch_tokens = default_batch_tokens(device)
        if batch_tokens < model.settings.max_length:
            raise ValueError(f"expected batch_tokens >= max_length ({model.settings.max_length}), got {batch_tokens}")
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("expected a fast tokenizer (offsets are needed), got a slow one")
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.batch_tokens = batch_tokens
        self.name = name
        self.version = version
        self.chunk_texts = DEFAULT_CHUNK_TEXTS
        self.chunk_chars = DEFAULT_CHUNK_CHARS
        self.overlap = device.type != "cpu"  # tokenise the next chunk while this one runs (see tag_detailed)
        self.context = context  # sets each entity's negation, temporality, experiencer, section
        self.linker = linker  # nercore.linker.CodeLinker: ICD-10-CM candidates of Disease entities
        self.settings = model.settings
        self.label_set = model.label_set
        self.precision = encoder_precision(model.encoder)
        self._special = (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id or 0)
        self._crf = tuple(t.to(device) for t in model.crf_scores())
        labels = self.label_set.labels
        self._is_begin = np.array([lab.startswith("B-") for lab in labels])
        self._is_inside = np.array([lab.startswith("I-") for lab in labels])
        self._label_type = [lab[2:] if lab != "O" else "" for lab in labels]

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
        """Load a saved model folder.

        Args:
            model: local folder, ``gs://``/``s3://`` folder, hub name, or None for the bundled
                default model.
            device: "cpu", "cuda", ... or None to pick CUDA when present.
            batch_tokens: padded sub-words per encoder call (None: ``default_batch_tokens(device)``).
                Part of what fixes the output: every call for a window width has
                ``batch_tokens // width`` rows, so runs with the same value give bit-identical
                results whatever the batching; runs with different values may differ in the last
                bits of a score.
            dtype: encoder dtype; None picks ``default_dtype(device)``: bfloat16 on CUDA and on
                CPUs with native bfloat16, else float32.
            quantize: dynamic int8 quantisation of the encoder's linear layers (CPU only; faster
                than float32 but about 1-2 F1 points less accurate on held-out devel sets).
            max_length, stride: override the saved window settings (sub-words per window with
                the two special tokens, and sub-words between window starts).
            expected_version: refuse a model folder whose content hash (``version``) differs,
                e.g. a worker checking that it loaded the model its run was launched with.
            context: compute each entity's clinical context (``nercore.context``) with the
                shipped rules (True), the given ``ContextRules``, or not at all (False: the
                context fields stay None).
            codes: rank ICD-10-CM candidate codes for each Disease entity (``nercore.linker``):
                True for the cached index (built on first use: minutes on a CPU), a code index
                folder, or False (the code fields stay empty).
            codes_k: candidates per entity (default ``linker.DEFAULT_K``).

        Raises:
            FileNotFoundError: the folder or one of its files is missing.
            ModelVersionError: the folder is not ``expected_version``.
            ValueError: a setting is invalid.
        """
        from transformers import AutoTokenizer

        folder = resolve_model_folder(model, expected_version)
        version = folder_version(folder)
        if expected_version and version != expected_version:
            raise ModelVersionError(f"model {folder} is version {version}, expected {expected_version} (the version the run was launched with)")
        device = choose_device(device)
        net = BertCrf.load(folder)
        if max_length is not None or stride is not None:
            limit = net.encoder.config.max_position_embeddings
            if max_length is not None and max_length > limit:
                raise ValueError(f"expected max_length <= {limit} (the encoder's positions), got {max_length}")
            net.settings = replace(
                net.settings,
                max_length=max_length or net.settings.max_length,
                stride=stride or min(net.settings.stride, (max_length or net.settings.max_length) - 2),
            )
        tokenizer = AutoTokenizer.from_pretrained(folder)
        if quantize:
            if device.type != "cpu":
                raise ValueError(f"expected device 'cpu' for int8 quantisation, got {device.type!r}")
            net.encoder = quantize_linear_int8(net.encoder)
        if dtype is None:
            dtype = default_dtype(device)
        net.to(device)
        if not quantize:
            net.encoder.to(dtype=dtype)
            net.classifier.to(dtype=dtype)
        net.use_full_masks()  # the same attention kernel for every batch, padded or not
        finder = None if context is False else ContextFinder(None if context is True else context)
        linker = None
        if codes is not False:
            from nercore.linker import DEFAULT_K, CodeLinker

            # The mention encoder runs on the tagger's device, in float32 (its vectors are compared
            # with the index's, which were made in float32).
            linker = CodeLinker.load(None if codes is True else codes, device, k=codes_k or DEFAULT_K)
        return cls(net, tokenizer, device, batch_tokens=batch_tokens, name=net.settings.model_name(folder), version=version, context=finder, linker=linker)

    # -- stage 1 ---------------------------------------------------------------------------
    def preprocess(self, texts: Sequence[str]) -> Prepared:
        """Tokenise texts and cut them into windows (no torch; array operations over all texts)."""
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"expected texts of type str, got {type(text).__name__} at index {i}")
        tokens = encode_batch(self.tokenizer, list(texts))
        return Prepared(tokens, plan_windows(tokens, self.settings.window, self.settings.stride))

    # -- stage 2 ---------------------------------------------------------------------------
    def padded_widths(self, num_tokens: np.ndarray) -> np.ndarray:
        """Encoder input width of windows of these sub-word counts: the sub-words and two special
        tokens, rounded up to a multiple of ``WIDTH_STEP`` but not past ``max_length``. A window's
        width depends on the window alone."""
        length = np.asarray(num_tokens, dtype=np.int64) + 2
        return np.maximum(length, np.minimum(-(-length // WIDTH_STEP) * WIDTH_STEP, self.settings.max_length))

    def rows_per_batch(self, width: int) -> int:
        """Rows of every encoder call for windows of this padded width: ``batch_tokens // width``.

        Fixed per width, so that a window's result never depends on how many others share its batch.
        """
        return max(1, self.batch_tokens // int(width))

    def batches(self, windows: WindowPlan) -> list[np.ndarray]:
        """Window indices grouped into forward batches of one padded width each, widest first,
        at most ``rows_per_batch(width)`` windows each (``forward`` fills the rest with empty rows)."""
        sizes = windows.num_tokens
        widths = self.padded_widths(sizes)
        order = np.lexsort((np.arange(sizes.size), -sizes, -widths))
        cuts = np.flatnonzero(np.diff(widths[order])) + 1
        groups = []
        for same_width in np.split(order, cuts) if order.size else []:
            rows = self.rows_per_batch(widths[same_width[0]])
            groups.extend(same_width[i : i + rows] for i in range(0, same_width.size, rows))
        return groups

    def batch_arrays(self, prepared: Prepared, group: np.ndarray, words: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, ...]:
        """Host arrays of one forward batch of windows of one padded width (``token_batch.batch_arrays``)."""
        width = int(self.padded_widths(prepared.windows.num_tokens[group[:1]])[0])
        return batch_arrays(prepared.tokens, prepared.windows, group, words, width, self.rows_per_batch(width), self._special)

    @torch.inference_mode()
    def forward(self, prepared: Prepared) -> torch.Tensor:
        """Word emissions of every word of every text, concatenated in text order.

        Returns:
            shape (total_words, labels), float32, on the tagger's device.
        """
        total_words = int(prepared.tokens.word_offsets[-1])
        out = torch.zeros((total_words, len(self.label_set)), dtype=torch.float32, device=self.device)
        pin = self.device.type == "cuda"
        words = prepared.windows.words_by_window()
        for group in self.batches(prepared.windows):
            # Every host array is built and sent before the encoder is queued: a later copy from
            # pageable memory would make the host wait for the GPU instead of preparing the next batch.
            tensors = [torch.from_numpy(a) for a in self.batch_arrays(prepared, group, words)]
            if pin:
                tensors = [t.pin_memory() for t in tensors]
            ids_t, attention_t, positions_t, rows_t, cols_t, target_t = (t.to(self.device, non_blocking=True) for t in tensors)
            emissions = self.model.word_emissions(ids_t, attention_t, positions_t)  # shape: (rows, width, labels)
            out.index_copy_(0, target_t, emissions[rows_t, cols_t].float())
        return out

    # -- stage 3 ---------------------------------------------------------------------------
    def decode(self, prepared: Prepared, emissions: torch.Tensor) -> WordLabels:
        """Constrained Viterbi and marginals over each text's whole word sequence."""
        return decode_words(emissions, prepared.tokens.word_offsets, self._crf, DECODE_BUDGET)

    def postprocess(self, texts: Sequence[str], prepared: Prepared, emissions: torch.Tensor) -> list[list[Entity]]:
        """Each text's entities: decoded labels to spans and (with ``context``) their clinical
        context for all texts at once, then one ``Entity`` per span (the only per-entity step)."""
        tokens = prepared.tokens
        spans = entity_spans(self.decode(prepared, emissions), tokens.word_offsets, tokens.word_start_char, tokens.word_end_char, self._is_begin, self._is_inside)
        types = self._label_type
        columns = (spans.text.tolist(), spans.label.tolist(), spans.start_char.tolist(), spans.end_char.tolist(), spans.score.tolist())
        if self.context is None:
            entities = [Entity(types[label], start, end, texts[t][start:end], score) for t, label, start, end, score in zip(*columns)]
        else:
            contexts = self.context.find_batch(texts, spans.text, spans.start_char, spans.end_char)
            entities = [
                Entity(types[label], start, end, texts[t][start:end], score, c.negation, c.temporality, c.experiencer, c.section)
                for (t, label, start, end, score), c in zip(zip(*columns), contexts)
            ]
        bounds = np.searchsorted(spans.text, np.arange(len(texts) + 1)).tolist()
        return [entities[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        """Entities of each text, in order of appearance.

        Raises:
            ValueError: if an item is not a string.
        """
        return [result.entities for result in self.tag_detailed(texts)]

    def tag_detailed(self, texts: Sequence[str]) -> list[TagResult]:
        """Like ``tag``, with each text's window and sub-word counts.

        Texts are processed in chunks of at most ``chunk_texts`` texts and ``chunk_chars``
        characters (at least one text each). With ``overlap`` (the default on a GPU) the next
        chunk is tokenised on a background thread while the current one runs through the model,
        so the device does not wait for tokenisation. On a CPU the encoder and the tokenizer
        (whose Rust core already uses every core) compete for the same cores: on 2 cores the
        overlap made the host path 12% slower (``bench.host_path``), so it is off there by
        default. Results do not depend on the chunking or the overlap.
        """
        if isinstance(texts, str):
            raise ValueError("expected a sequence of texts, got one str (wrap it in a list)")
        texts = list(texts)
        chunks = [texts[a:b] for a, b in chunk_bounds([len(t) if isinstance(t, str) else 0 for t in texts], self.chunk_texts, self.chunk_chars)]
        if len(chunks) <= 1:
            return self._run(texts, self.preprocess(texts))
        if not self.overlap:
            return [r for chunk in chunks for r in self._run(chunk, self.preprocess(chunk))]
        results: list[TagResult] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nercore-preprocess") as pool:
            upcoming = pool.submit(self.preprocess, chunks[0])
            for i, chunk in enumerate(chunks):
                prepared = upcoming.result()
                if i + 1 < len(chunks):
                    upcoming = pool.submit(self.preprocess, chunks[i + 1])
                results.extend(self._run(chunk, prepared))
        return results

    def _run(self, texts: Sequence[str], prepared: Prepared) -> list[TagResult]:
        entities = self.postprocess(texts, prepared, self.forward(prepared))
        if self.linker is not None:
            entities = self.linker.apply(texts, entities)
        windows = np.bincount(prepared.windows.text, minlength=len(texts)).tolist()
        tokens = prepared.tokens.token_counts.tolist()
        return [TagResult(e, windows[i], tokens[i], self.precision, self.version) for i, e in enumerate(entities)]


def chunk_bounds(lengths: Sequence[int], max_texts: int, max_chars: int) -> list[tuple[int, int]]:
    """Consecutive ``(start, stop)`` slices of at most ``max_texts`` texts and ``max_chars``
    characters each; a text longer than ``max_chars`` is a chunk of its own."""
    ends = np.cumsum(lengths, dtype=np.int64)
    bounds, start = [], 0
    while start < len(lengths):
        before = int(ends[start - 1]) if start else 0
        stop = int(np.searchsorted(ends, before + max_chars, side="right"))
        stop = min(max(stop, start + 1), start + max_texts)
        bounds.append((start, stop))
        start = stop
    return bounds


def encoder_precision(encoder: torch.nn.Module) -> str:
    """"int8" for a dynamically quantised encoder, else the dtype of its weights ("float32", ...)."""
    if any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in encoder.modules()):
        return "int8"
    return str(next(encoder.parameters()).dtype).removeprefix("torch.")


def quantize_linear_int8(module: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantisation of the Linear layers (CPU inference)."""
    from torch.ao.quantization import quantize_dynamic

    return quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)
