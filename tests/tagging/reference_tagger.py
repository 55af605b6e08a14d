"""The per-text host path as it was before the array rewrite (issue 11): the oracle that the
vectorised ``Tagger`` must equal exactly. Method bodies are kept verbatim, but for the CRF call in
``decode``, which uses the tagger's own CRF arithmetic; ``self`` is a Tagger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nercore.entity import Entity
from nercore.tagging.batching import WIDTH_STEP
from nercore.tagging.decoding import decode_group
from nercore.tagging.preprocess import EncodedText, Window, encode_texts, make_windows
from nercore.tagging.tagger import DECODE_BUDGET


@dataclass(frozen=True)
class OldPrepared:
    encoded: list[EncodedText]
    windows: list[Window]


@dataclass(frozen=True)
class OldDecoded:
    label_ids: list[np.ndarray]
    confidences: list[np.ndarray]


def preprocess(self, texts: Sequence[str]) -> OldPrepared:
    """Tokenise texts and cut them into windows (no torch)."""
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"expected texts of type str, got {type(text).__name__} at index {i}")
    if not texts:
        return OldPrepared([], [])
    encoded = encode_texts(self.tokenizer, list(texts))
    windows = [
        w for i, item in enumerate(encoded) for w in make_windows(item, i, self.settings.window, self.settings.stride)
    ]
    return OldPrepared(encoded, windows)


def padded_width(self, window: Window) -> int:
    """Encoder input width of a window: its sub-words and two special tokens, rounded up to
    a multiple of ``WIDTH_STEP`` but not past ``max_length``. It depends on the window alone."""
    length = window.num_tokens + 2
    return max(length, min(-(-length // WIDTH_STEP) * WIDTH_STEP, self.settings.max_length))


def rows_per_batch(self, width: int) -> int:
    """Rows of every encoder call for windows of this padded width: ``batch_tokens // width``.

    Fixed per width, so that a window's result never depends on how many others share its batch.
    """
    return max(1, self.batch_tokens // width)


def batches(self, windows: Sequence[Window]) -> list[list[int]]:
    """Window indices grouped into forward batches of one padded width each, widest first,
    at most ``rows_per_batch(width)`` windows each (``forward`` fills the rest with empty rows)."""
    widths = [padded_width(self, w) for w in windows]
    order = sorted(range(len(windows)), key=lambda i: (-widths[i], -windows[i].num_tokens, i))
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:
        width = widths[i]
        if current and (widths[current[0]] != width or len(current) == self.shapes.rows_per_batch(width)):
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


def batch_arrays(self, prepared: OldPrepared, group: Sequence[int], word_offsets: np.ndarray) -> tuple[np.ndarray, ...]:
    """Host arrays of one forward batch, of a shape fixed by its width (pure numpy).

    Returns:
        input_ids, attention_mask, word_positions: shape (rows_per_batch(width), width); rows
        past the group's windows are empty ([CLS] [SEP]); word positions past a window's words
        are 0. Then, for each word the batch supplies: its row, its column among the row's
        words, and its index in the concatenated word sequence of all texts; shape (words,).
    """
    encoded, windows = prepared.encoded, prepared.windows
    width = padded_width(self, windows[group[0]])
    n_rows = self.shapes.rows_per_batch(width)
    if len(group) > n_rows:
        raise ValueError(f"expected at most {n_rows} windows of width {width} in a batch, got {len(group)}")
    cls_id, sep_id, pad_id = self._special
    ids = np.full((n_rows, width), pad_id, dtype=np.int64)
    ids[:, 0], ids[:, 1] = cls_id, sep_id
    attention = np.zeros((n_rows, width), dtype=np.int64)
    attention[:, :2] = 1
    positions = np.zeros((n_rows, width), dtype=np.int64)
    targets, rows, cols = [], [], []
    for row, i in enumerate(group):
        w = windows[i]
        source = encoded[w.text_index].input_ids[w.token_start : w.token_end]
        ids[row, 1 : 1 + len(source)] = source
        ids[row, 1 + len(source)] = sep_id
        attention[row, : len(source) + 2] = 1
        positions[row, : len(w.word_ids)] = w.word_positions
        targets.append(w.word_ids + word_offsets[w.text_index])
        rows.append(np.full(len(w.word_ids), row))
        cols.append(np.arange(len(w.word_ids)))
    return ids, attention, positions, np.concatenate(rows), np.concatenate(cols), np.concatenate(targets)


@torch.inference_mode()
def forward(self, prepared: OldPrepared) -> torch.Tensor:
    """Word emissions of every word of every text, concatenated in text order.

    Returns:
        shape (total_words, labels), float32, on the tagger's device.
    """
    offsets = np.cumsum([0] + [e.num_words for e in prepared.encoded])
    out = torch.zeros((int(offsets[-1]), len(self.label_set)), dtype=torch.float32, device=self.device)
    pin = self.device.type == "cuda"
    for group in batches(self, prepared.windows):
        # Every host array is built and sent before the encoder is queued: a later copy from
        # pageable memory would make the host wait for the GPU instead of preparing the next batch.
        tensors = [torch.from_numpy(a) for a in batch_arrays(self, prepared, group, offsets)]
        if pin:
            tensors = [t.pin_memory() for t in tensors]
        ids_t, attention_t, positions_t, rows_t, cols_t, target_t = (
            t.to(self.device, non_blocking=True) for t in tensors
        )
        emissions = self.model.word_emissions(ids_t, attention_t, positions_t)  # shape: (rows, width, labels)
        out.index_copy_(0, target_t, emissions[rows_t, cols_t].float())
    return out


@torch.inference_mode()
def decode(self, prepared: OldPrepared, emissions: torch.Tensor) -> OldDecoded:
    """Constrained Viterbi and marginals over each text's whole word sequence."""
    lengths = [e.num_words for e in prepared.encoded]
    offsets = np.cumsum([0] + lengths)
    label_ids: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(lengths)
    confidences: list[np.ndarray] = [np.zeros(0, dtype=np.float32)] * len(lengths)
    order = [i for i in sorted(range(len(lengths)), key=lambda i: (lengths[i], i)) if lengths[i] > 0]
    # Pad with a zero row appended at index ``total``.
    padded_source = torch.cat([emissions, emissions.new_zeros((1, emissions.shape[1]))])
    pad_index = emissions.shape[0]
    start = 0
    while start < len(order):
        stop = start + 1
        while stop < len(order) and (stop - start + 1) * lengths[order[stop]] <= DECODE_BUDGET:
            stop += 1
        group = order[start:stop]
        start = stop
        steps = lengths[group[-1]]
        index = np.full((len(group), steps), pad_index, dtype=np.int64)
        for row, i in enumerate(group):
            index[row, : lengths[i]] = np.arange(offsets[i], offsets[i + 1])
        batch = padded_source[torch.from_numpy(index).to(emissions.device)]  # shape: (group, steps, labels)
        # The same CRF arithmetic as the tagger (tested on its own in test_crf): this oracle checks
        # the stitching, grouping and spans around it.
        tags_np, chosen_np = decode_group(batch, np.asarray([lengths[i] for i in group]), self._crf)
        for row, i in enumerate(group):
            label_ids[i] = tags_np[row, : lengths[i]]
            confidences[i] = chosen_np[row, : lengths[i]]
    return OldDecoded(label_ids, confidences)


def spans(self, text: str, encoded: EncodedText, label_ids: np.ndarray, confidence: np.ndarray) -> list[Entity]:
    """Entities of one text from its word labels (valid BIO) and label confidences."""
    begins = np.flatnonzero(self._is_begin[label_ids])
    if begins.size == 0:
        return []
    not_inside = np.append(np.flatnonzero(~self._is_inside[label_ids]), len(label_ids))
    ends = not_inside[np.searchsorted(not_inside, begins, side="right")]
    cumulative = np.concatenate([[0.0], np.cumsum(confidence, dtype=np.float64)])
    scores = (cumulative[ends] - cumulative[begins]) / (ends - begins)
    entities = []
    for b, e, s in zip(begins.tolist(), ends.tolist(), scores.tolist()):
        start_char = int(encoded.word_start_char[b])
        end_char = int(encoded.word_end_char[e - 1])
        entities.append(
            Entity(
                entity_type=str(self._type_names[label_ids[b]]),
                start_char=start_char,
                end_char=end_char,
                text=text[start_char:end_char],
                score=min(1.0, max(0.0, float(s))),
            )
        )
    return entities


def postprocess(self, texts: Sequence[str], prepared: OldPrepared, emissions: torch.Tensor) -> list[list[Entity]]:
    decoded = decode(self, prepared, emissions)
    return [
        spans(self, text, enc, ids, conf)
        for text, enc, ids, conf in zip(texts, prepared.encoded, decoded.label_ids, decoded.confidences)
    ]


def old_tag(self, texts: Sequence[str]) -> list[list[Entity]]:
    """Entities as the per-text path found them (no context, no codes)."""
    prepared = preprocess(self, texts)
    return postprocess(self, texts, prepared, forward(self, prepared))
