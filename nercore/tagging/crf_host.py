"""CRF inference on the host with numpy: constrained Viterbi and forward-backward marginals.

The same results as ``nercore.tagging.crf`` (the torch functions, kept for GPUs and as the oracle), in
less time on a CPU. Both loop over time steps; a long note is one row of thousands of steps, where
the cost is the per-operation overhead (about 10 µs for a small torch operation on the CPU, 2 µs
for numpy). So on the CPU this module decodes, 2-3x faster than torch for long notes.

Layout: label-major, ``emissions[label, t, row]``, rows left-aligned with their ``lengths``. Each
step works on ``(labels, rows)`` blocks whose rows are contiguous, and every label pair is one
operation over all rows: no reduction runs along a short strided axis (an ``argmax`` over the
five "from" labels of a ``(rows, from, to)`` block cost more than the arithmetic).

Viterbi works in log space with the same additions and maxima as the torch version. The
marginals work in probability space, each step rescaled to sum 1 (no log or exp per step):
``alpha_t ∝ (alpha_{t-1} · exp(T)) ⊙ exp(e_t - max e_t)``, likewise beta, and the marginal at t is
``alpha_t ⊙ beta_t`` normalised. The scale of alpha and beta cancels in that ratio, so the
partition function is never needed. Every operation is elementwise or a fixed-order sum over the
labels, so a row's result never depends on the other rows or on how many there are. A row whose
rescaling would underflow (only with emission gaps of hundreds of nats, i.e. a broken model) is
recomputed in log space by ``nercore.tagging.crf.marginals``.
"""

from __future__ import annotations

import numpy as np
import torch

from nercore.tagging import crf as torch_crf

# A step whose sum (before rescaling) is below this, or not finite, sends its row to log space.
# Far above float64's smallest normal number (~1e-308), so no probability has lost precision.
UNDERFLOW = 1e-250
# Up to this many rows a step (of Viterbi and of forward-backward) is a few operations over all label
# pairs (the cost of a long note's many steps is per operation); above it, an operation per label
# (the cost is per element).
FEW_ROWS = 256


def _check(emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray) -> None:
    if emissions.ndim != 3:
        raise ValueError(f"expected emissions of shape (labels, steps, rows), got {emissions.shape}")
    if lengths.shape != (emissions.shape[2],):
        raise ValueError(f"expected lengths of shape ({emissions.shape[2]},), got {lengths.shape}")
    if transitions.shape != (emissions.shape[0],) * 2:
        raise ValueError(f"expected transitions of shape {(emissions.shape[0],) * 2}, got {transitions.shape}")
    if lengths.size and (lengths.min() < 1 or lengths.max() > emissions.shape[1]):
        raise ValueError(f"expected lengths between 1 and {emissions.shape[1]}, got {lengths.min()}..{lengths.max()}")


def viterbi(
    emissions: np.ndarray, lengths: np.ndarray, start: np.ndarray, end: np.ndarray, transitions: np.ndarray
) -> np.ndarray:
    """Best label sequence of each row.

    Args:
        emissions: float64, shape (labels, steps, rows).
        lengths: each row's steps; shape (rows,).
        start, end: float64, shape (labels,).
        transitions: float64, shape (labels, labels); ``[i, j]`` scores label i followed by j.

    Returns:
        int64, shape (steps, rows); entries past a row's length are undefined.
    """
    _check(emissions, lengths, transitions)
    labels, steps, rows = emissions.shape
    all_on = int(lengths.min()) if rows else 0  # steps before this one are on in every row
    into = [np.ascontiguousarray(transitions[i])[:, None] for i in range(labels)]  # into[i][j]: i followed by j
    score = start[:, None] + emissions[:, 0]  # shape: (labels, rows)
    history = np.zeros((steps, labels, rows), dtype=np.int16 if labels > 127 else np.int8)
    better = np.empty((labels, rows), dtype=bool)
    moves = transitions[:, :, None]  # shape: (from, to, 1)
    candidate = np.empty((labels, rows))
    on = np.arange(steps)[:, None] < lengths  # shape: (steps, rows); once, not a comparison a step
    # Every candidate is (score + transition) + emission, added in that order as torch adds them,
    # so that a near tie rounds the same way.
    for t in range(1, steps):
        step = emissions[:, t]  # shape: (to, rows)
        if rows <= FEW_ROWS:  # a few operations over all label pairs at once
            candidates = score[:, None, :] + moves  # shape: (from, to, rows)
            candidates += step
            history[t] = candidates.argmax(axis=0)  # the first best, as torch's max
            best = candidates.max(axis=0)
        else:  # one operation per "from" label: no argmax along the short strided axis
            best = score[0] + into[0]  # shape: (to, rows), coming from label 0
            best += step
            best_from = history[t]
            for i in range(1, labels):
                np.add(score[i], into[i], out=candidate)
                candidate += step
                np.greater(candidate, best, out=better)  # strictly: the first best stays
                np.maximum(best, candidate, out=best)
                best_from[better] = i
        score = best if t < all_on else np.where(on[t], best, score)
    best_last = (score + end[:, None]).argmax(axis=0)  # shape: (rows,)

    tags = np.empty((steps, rows), dtype=np.int64)
    current = best_last
    rows_range = np.arange(rows)
    last = on.copy()
    last[:-1] &= ~on[1:]  # shape: (steps, rows); each row's last step
    for t in range(steps - 1, -1, -1):
        if t >= all_on - 1:
            current = np.where(last[t], best_last, current)
        tags[t] = current
        if t > 0:
            previous = history[t, current, rows_range]
            current = previous if t < all_on else np.where(on[t], previous, current)
    return tags


def marginals(
    emissions: np.ndarray,
    lengths: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    transitions: np.ndarray,
    chosen: np.ndarray | None = None,
) -> np.ndarray:
    """Posterior probability of each label at each step, or only of the ``chosen`` ones.

    Args: as ``viterbi``, and
        chosen: a label per step and row (e.g. ``viterbi``'s), int64 of shape (steps, rows); then
            only their marginals are normalised and returned: the same numbers, less work.

    Returns:
        float32, shape (labels, steps, rows), or (steps, rows) with ``chosen``; each on-step of
        the former sums to 1, off-steps are undefined.
    """
    _check(emissions, lengths, transitions)
    labels, steps, rows = emissions.shape
    if rows == 0:
        return np.zeros((labels, steps, 0) if chosen is None else (steps, 0), dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):  # a broken model's NaN is caught below
        result, totals, norm = _forward_backward(emissions, lengths, start, end, transitions, chosen)
    # Rows where a sum came close to underflow (or NaN) go to log space. A backward total at step
    # t was made for the row's step t + 1.
    on = np.arange(steps)[:, None] < lengths
    fine = ((totals[0] > UNDERFLOW) & (norm > UNDERFLOW)) | ~on
    fine[:-1] &= (totals[1, :-1] > UNDERFLOW) | ~on[1:]
    bad = np.flatnonzero(~fine.all(axis=0))
    if bad.size:
        exact = _log_space(emissions[:, :, bad], lengths[bad], start, end, transitions)
        if chosen is None:
            result[:, :, bad] = exact
        else:
            result[:, bad] = np.take_along_axis(exact, chosen[None, :, bad], axis=0)[0]
    return result


def _forward_backward(
    emissions: np.ndarray, lengths: np.ndarray, start, end, transitions, chosen: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """Marginals in probability space (of the ``chosen`` labels only, if given), with each step's
    sum before rescaling (forward, backward) and each step's alpha·beta sum, for the underflow check.

    Works step-major (``[t, label, row]``): each step reads and writes one contiguous block, in
    buffers allocated once."""
    labels, steps, rows = emissions.shape
    all_on = int(lengths.min())
    p = np.empty((steps, labels, rows))  # shape: (steps, labels, rows); max 1 per step
    by_step = emissions.transpose(1, 0, 2)
    np.subtract(by_step, by_step.max(axis=1, keepdims=True), out=p)
    np.exp(p, out=p)
    # Scaled so the largest is 1 (no overflow; a common factor cancels in the rescaling).
    # Forbidden moves (-1e4) become exactly 0.
    trans = np.exp(transitions - transitions.max())
    out_of = trans[:, :, None]  # shape: (from, to, 1)
    into = np.ascontiguousarray(trans.T)[:, :, None]  # shape: (to, from, 1)
    totals = np.empty((2, steps, rows))  # each step's sum before rescaling, forward and backward
    # Few rows (a long note's steps): all products of a step in one operation, as the cost is per
    # operation; many rows: a label at a time, in a buffer that stays in the cache.
    products = np.empty((labels, labels, rows)) if rows <= FEW_ROWS else None
    term = np.empty((labels, rows))

    alphas = np.empty_like(p)
    np.multiply(np.exp(start - start.max())[:, None], p[0], out=alphas[0])
    _sum_into(totals[0, 0], alphas[0])
    alphas[0] /= totals[0, 0]
    for t in range(1, steps):
        alpha, nxt = alphas[t - 1], alphas[t]  # off-steps hold garbage that no on-step reads
        _weighted_sum(nxt, alpha, out_of, products, term)  # shape: (to, rows)
        nxt *= p[t]
        _sum_into(totals[0, t], nxt)
        nxt /= totals[0, t]

    betas = np.empty_like(p)
    betas[steps - 1] = np.exp(end - end.max())[:, None]
    weighted = np.empty((labels, rows))
    for t in range(steps - 2, -1, -1):
        beta, prev = betas[t + 1], betas[t]
        np.multiply(p[t + 1], beta, out=weighted)
        _weighted_sum(prev, weighted, into, products, term)  # shape: (from, rows)
        _sum_into(totals[1, t], prev)
        prev /= totals[1, t]
        if t + 1 >= all_on:  # a row's beta starts (as ``end``) at its own last step
            np.copyto(prev, beta, where=t + 1 >= lengths)

    del p
    alphas *= betas  # in place: the decoder's memory is a few arrays of budget × labels float64
    del betas
    norm = np.empty((steps, rows))
    _sum_into(norm, alphas.transpose(1, 0, 2))  # shape: (steps, rows)
    if chosen is not None:  # the same division, for one label a step
        picked = np.take_along_axis(alphas, chosen[:, None, :], axis=1)[:, 0]
        return (picked / norm).astype(np.float32), totals, norm
    alphas /= norm[:, None, :]
    return alphas.astype(np.float32).transpose(1, 0, 2), totals, norm


def _weighted_sum(
    out: np.ndarray, weights: np.ndarray, matrix: np.ndarray, products: np.ndarray | None, term: np.ndarray
) -> None:
    """``out[j] = weights[0] * matrix[0, j] + weights[1] * matrix[1, j] + ...``, summed in that order.

    Args:
        out: shape (labels, rows).
        weights: shape (labels, rows).
        matrix: shape (labels, labels, 1).
        products: a (labels, labels, rows) buffer: every product in one operation; or None: a
            label at a time into ``term`` (labels, rows). The same numbers either way.
    """
    if products is not None:
        np.multiply(weights[:, None, :], matrix, out=products)
        _sum_into(out, products)
        return
    np.multiply(weights[0], matrix[0], out=out)
    for i in range(1, len(weights)):
        np.multiply(weights[i], matrix[i], out=term)
        out += term


def _sum_into(out: np.ndarray, blocks: np.ndarray) -> None:
    """``out = blocks[0] + blocks[1] + ...`` in that order (no library may reorder or pair the terms)."""
    if len(blocks) == 1:
        np.copyto(out, blocks[0])
        return
    np.add(blocks[0], blocks[1], out=out)
    for block in blocks[2:]:
        out += block


def _log_space(emissions: np.ndarray, lengths: np.ndarray, start, end, transitions) -> np.ndarray:
    """``nercore.tagging.crf.marginals`` on these rows (label-major in and out)."""
    batch = torch.from_numpy(np.ascontiguousarray(emissions.transpose(2, 1, 0)))  # shape: (rows, steps, labels)
    mask = torch.from_numpy(np.arange(emissions.shape[1])[None, :] < lengths[:, None])
    scores = (torch.from_numpy(np.asarray(a)) for a in (start, end, transitions))
    return torch_crf.marginals(batch, mask, *scores).numpy().transpose(2, 1, 0)
