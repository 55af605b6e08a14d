"""Stage 3 of tagging without per-word Python: CRF decoding of stitched word sequences, then spans.

``decode_words`` runs the BIO-constrained Viterbi and forward-backward marginals over every
text's whole word sequence (texts of similar length batched together), and returns flat per-word
arrays. On a GPU it runs ``nercore.tagging.crf`` there; on the CPU ``nercore.tagging.crf_host``
(numpy, 2-3x faster: the step loop of a long note is bound by per-operation overhead).
``entity_spans`` turns the label ids of all texts into entity spans at once. Both give exactly
what the per-text code gave: a text's scores are sums over that text alone, in the same order,
so they never depend on its neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nercore.tagging import crf_host
from nercore.tagging.crf import marginals, viterbi_decode
from nercore.tagging.token_batch import ragged_positions


@dataclass(frozen=True)
class WordLabels:
    """Decoded labels of all words of a batch of texts (flat, in text order).

    Attributes:
        label_ids: the Viterbi label of each word; shape (words,).
        confidence: each chosen label's posterior marginal; shape (words,), float32.
        cumulative: the sum of ``confidence`` over the text's earlier words (float64, summed from
            the text's first word, in order); shape (words,).
        total: the sum of ``confidence`` over each text; shape (texts,).
    """

    label_ids: np.ndarray
    confidence: np.ndarray
    cumulative: np.ndarray
    total: np.ndarray


def decode_groups(lengths: np.ndarray, budget: int) -> list[np.ndarray]:
    """Texts with words, sorted by (length descending, index), grouped so that rows × longest ≤
    ``budget`` (a group holds at least one text). Longest first, so that what is left over for the
    last group are the shortest texts: a group's cost is mostly a fixed cost per step, and a last
    group of a few long texts would pay it for their many steps."""
    order = np.lexsort((np.arange(lengths.size), -lengths))
    order = order[lengths[order] > 0]
    groups, start = [], 0
    sorted_lengths = lengths[order]
    while start < order.size:
        stop = start + max(1, budget // int(sorted_lengths[start]))
        groups.append(order[start:stop])
        start = stop
    return groups


def scatter_index(first: np.ndarray, lengths: np.ndarray, steps: int, pad: int) -> np.ndarray:
    """A (rows, steps) matrix whose row r holds ``first[r], first[r] + 1, ...`` for ``lengths[r]``
    steps, then ``pad``."""
    index = np.full((lengths.size, steps), pad, dtype=np.int64)
    rows, cols = ragged_positions(lengths)
    index[rows, cols] = np.repeat(first, lengths) + cols
    return index


def decode_host(
    batch: np.ndarray, lengths: np.ndarray, scores: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Viterbi labels and their marginals on the host (``nercore.tagging.crf_host``).

    Args:
        batch: float64 emissions, label-major; shape (labels, steps, rows).
        lengths: each row's steps; shape (rows,).
        scores: start, end and transition scores as float64 arrays.

    Returns:
        Labels (int64) and their marginals (float32), each of shape (rows, steps).
    """
    tags = crf_host.viterbi(batch, lengths, *scores)  # shape: (steps, rows)
    chosen = crf_host.marginals(batch, lengths, *scores, chosen=tags)  # shape: (steps, rows)
    return tags.T, chosen.T


@torch.inference_mode()
def decode_group(
    batch: torch.Tensor, lengths: np.ndarray, crf: tuple[torch.Tensor, ...], host: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Viterbi labels and their marginals of one batch of left-aligned rows.

    Args:
        batch: emissions; shape (rows, steps, labels).
        lengths: each row's steps (at least 1); shape (rows,).
        crf: start, end and transition scores (``BertCrf.crf_scores``), on the batch's device.
        host: decode with numpy on the host (``nercore.tagging.crf_host``) or with torch on the batch's
            device (``nercore.tagging.crf``); by default the host when the batch is on the CPU.

    Returns:
        Labels (int64) and their marginals (float32) as numpy arrays of shape (rows, steps);
        entries past a row's length are undefined.
    """
    if batch.device.type == "cpu" if host is None else host:
        label_major = batch.double().permute(2, 1, 0).contiguous().cpu().numpy()
        return decode_host(label_major, lengths, tuple(c.double().cpu().numpy() for c in crf))
    mask = (
        torch.arange(batch.shape[1], device=batch.device)[None, :]
        < torch.as_tensor(lengths, device=batch.device)[:, None]
    )
    tags = viterbi_decode(batch, mask, *crf)
    chosen = marginals(batch, mask, *crf).gather(2, tags.unsqueeze(2)).squeeze(2)  # shape: (rows, steps)
    return tags.cpu().numpy(), chosen.float().cpu().numpy()


@torch.inference_mode()
def decode_words(
    emissions: torch.Tensor,
    word_offsets: np.ndarray,
    crf: tuple[torch.Tensor, ...],
    budget: int,
    host: bool | None = None,
) -> WordLabels:
    """Constrained Viterbi and marginals over each text's whole word sequence.

    Args:
        emissions: every word's label scores, texts one after another; shape (words, labels).
        word_offsets: text i's words are ``word_offsets[i]:word_offsets[i + 1]``; shape (texts + 1,).
        crf: start, end and transition scores (``BertCrf.crf_scores``), on the emissions' device.
        budget: padded steps × rows per CRF batch (bounds memory on very long notes).
        host: as in ``decode_group``.
    """
    lengths = np.diff(word_offsets)
    total_words = int(word_offsets[-1])
    label_ids = np.zeros(total_words, dtype=np.int64)
    confidence = np.zeros(total_words, dtype=np.float32)
    cumulative = np.zeros(total_words, dtype=np.float64)
    total = np.zeros(lengths.size, dtype=np.float64)
    host = emissions.device.type == "cpu" if host is None else host
    if host:  # gathered straight into label-major float64 arrays, a zero column for padding
        source = np.concatenate([emissions.double().cpu().numpy().T, np.zeros((emissions.shape[1], 1))], axis=1)
        scores = tuple(c.double().cpu().numpy() for c in crf)
    else:
        source = torch.cat([emissions, emissions.new_zeros((1, emissions.shape[1]))])
    for group in decode_groups(lengths, budget):
        group_lengths = lengths[group]
        index = scatter_index(word_offsets[group], group_lengths, int(group_lengths.max()), total_words)
        if host:
            tags_np, chosen_np = decode_host(_label_major(source, index.T), group_lengths, scores)
        else:
            tags_np, chosen_np = decode_group(
                source[torch.from_numpy(index).to(emissions.device)], group_lengths, crf, host=False
            )
        running = np.cumsum(chosen_np, axis=1, dtype=np.float64)  # per row, in order, as a text alone
        valid = index != total_words
        targets = index[valid]
        label_ids[targets] = tags_np[valid]
        confidence[targets] = chosen_np[valid]
        before = np.zeros_like(running)
        before[:, 1:] = running[:, :-1]
        cumulative[targets] = before[valid]
        total[group] = running[np.arange(group.size), group_lengths - 1]
    return WordLabels(label_ids, confidence, cumulative, total)


def _label_major(source: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``source[:, index]`` as a C-contiguous array, a label at a time: the fancy index would lay
    labels innermost, so that every CRF step read five strided blocks (2-3x slower)."""
    # shape: source (labels, words + 1), index (steps, rows) → (labels, steps, rows)
    out = np.empty((source.shape[0], *index.shape))
    for label in range(source.shape[0]):
        np.take(source[label], index, out=out[label])
    return out


@dataclass(frozen=True)
class SpanArrays:
    """Entities of a batch of texts as columns, in text order then position."""

    text: np.ndarray  # which text; shape (entities,)
    label: np.ndarray  # the label id of the entity's first word (a B- label)
    start_char: np.ndarray
    end_char: np.ndarray
    score: np.ndarray  # mean confidence over the entity's words, in [0, 1]


def entity_spans(
    decoded: WordLabels,
    word_offsets: np.ndarray,
    word_start_char: np.ndarray,
    word_end_char: np.ndarray,
    is_begin: np.ndarray,
    is_inside: np.ndarray,
) -> SpanArrays:
    """Entities from valid BIO labels of all texts at once.

    An entity starts at a B- word and runs over the I- words after it. A text's first word is
    never I- (the CRF forbids it), so no entity runs into the next text.
    """
    labels = decoded.label_ids
    begins = np.flatnonzero(is_begin[labels])
    not_inside = np.append(np.flatnonzero(~is_inside[labels]), labels.size)
    ends = not_inside[np.searchsorted(not_inside, begins, side="right")]
    text = np.searchsorted(word_offsets, begins, side="right") - 1
    at_text_end = ends == word_offsets[text + 1]
    cumulative_end = np.where(
        at_text_end, decoded.total[text], decoded.cumulative[np.minimum(ends, labels.size - 1)] if labels.size else 0.0
    )
    scores = np.clip((cumulative_end - decoded.cumulative[begins]) / (ends - begins), 0.0, 1.0)
    return SpanArrays(text, labels[begins], word_start_char[begins], word_end_char[ends - 1], scores)
