"""CRF inference on the host with numpy: constrained Viterbi and forward-backward marginals.

The same results as ``nercore.tagging.crf`` (the torch functions, kept for GPUs and as the oracle), in
less time on a CPU. Both loop over time steps; a long note is one row of thousands of steps, where
the cost is the per-operation overhead (about 10 µs for a small torch operation on the CPU, 2 µs
for numpy). So on the CPU this module decodes, 2-3x faster than torch for long notes.

Layout: time-major, ``emissions[t, row, label]``, rows left-aligned with their ``lengths``, so that
each step reads one contiguous block.

Viterbi works in log space with the same additions and maxima as the torch version. The
marginals work in probability space, each step rescaled to sum 1 (no log or exp per step):
``alpha_t ∝ (alpha_{t-1} · exp(T)) ⊙ exp(e_t - max e_t)``, likewise beta, and the marginal at t is
``alpha_t ⊙ beta_t`` normalised. The scale of alpha and beta cancels in that ratio, so the
partition function is never needed. Every operation is elementwise or a fixed-order sum of five
terms, so a row's result never depends on the other rows or on how many there are. A row whose
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


def _check(emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray) -> None:
    if emissions.ndim != 3:
        raise ValueError(f"expected emissions of shape (steps, rows, labels), got {emissions.shape}")
    if lengths.shape != (emissions.shape[1],):
        raise ValueError(f"expected lengths of shape ({emissions.shape[1]},), got {lengths.shape}")
    if transitions.shape != (emissions.shape[2],) * 2:
        raise ValueError(f"expected transitions of shape {(emissions.shape[2],) * 2}, got {transitions.shape}")
    if lengths.size and (lengths.min() < 1 or lengths.max() > emissions.shape[0]):
        raise ValueError(f"expected lengths between 1 and {emissions.shape[0]}, got {lengths.min()}..{lengths.max()}")


def viterbi(
    emissions: np.ndarray, lengths: np.ndarray, start: np.ndarray, end: np.ndarray, transitions: np.ndarray
) -> np.ndarray:
    """Best label sequence of each row.

    Args:
        emissions: float64, shape (steps, rows, labels).
        lengths: each row's steps; shape (rows,).
        start, end: float64, shape (labels,).
        transitions: float64, shape (labels, labels); ``[i, j]`` scores label i followed by j.

    Returns:
        int64, shape (steps, rows); entries past a row's length are undefined.
    """
    _check(emissions, lengths, transitions)
    steps, rows, labels = emissions.shape
    all_on = int(lengths.min()) if rows else 0  # steps before this one are on in every row
    score = start + emissions[0]  # shape: (rows, labels)
    history = np.zeros((steps, rows, labels), dtype=np.intp)
    for t in range(1, steps):
        candidates = score[:, :, None] + transitions + emissions[t][:, None, :]  # shape: (rows, from, to)
        best_from = candidates.argmax(axis=1)  # the first best, as torch's max
        best = candidates.max(axis=1)
        score = best if t < all_on else np.where((t < lengths)[:, None], best, score)
        history[t] = best_from
    best_last = (score + end).argmax(axis=1)  # shape: (rows,)

    tags = np.empty((steps, rows), dtype=np.int64)
    current = best_last
    rows_range = np.arange(rows)
    for t in range(steps - 1, -1, -1):
        if t >= all_on - 1:
            current = np.where(lengths - 1 == t, best_last, current)
        tags[t] = current
        if t > 0:
            previous = history[t, rows_range, current]
            current = previous if t < all_on else np.where(t < lengths, previous, current)
    return tags


def marginals(
    emissions: np.ndarray, lengths: np.ndarray, start: np.ndarray, end: np.ndarray, transitions: np.ndarray
) -> np.ndarray:
    """Posterior probability of each label at each step.

    Args: as ``viterbi``.

    Returns:
        float32, shape (steps, rows, labels); each on-step sums to 1, off-steps are undefined.
    """
    _check(emissions, lengths, transitions)
    steps, rows, labels = emissions.shape
    if rows == 0:
        return np.zeros((steps, 0, labels), dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):  # a broken model's NaN is caught below
        result, totals, norm = _forward_backward(emissions, lengths, start, end, transitions)
    # Rows where a sum came close to underflow (or NaN) go to log space. A backward total at step
    # t was made for the row's step t + 1.
    on = np.arange(steps)[:, None] < lengths
    fine = ((totals[0] > UNDERFLOW) & (norm > UNDERFLOW)) | ~on
    fine[:-1] &= (totals[1, :-1] > UNDERFLOW) | ~on[1:]
    bad = np.flatnonzero(~fine.all(axis=0))
    if bad.size:
        result[:, bad] = _log_space(emissions[:, bad], lengths[bad], start, end, transitions)
    return result


def _forward_backward(emissions: np.ndarray, lengths: np.ndarray, start, end, transitions) -> tuple[np.ndarray, ...]:
    """Marginals in probability space, with each step's sum before rescaling (forward, backward)
    and each step's alpha·beta sum, for the underflow check."""
    steps, rows, labels = emissions.shape
    all_on = int(lengths.min())
    p = np.exp(emissions - emissions.max(axis=2, keepdims=True))  # shape: (steps, rows, labels); max 1 per step
    # Scaled so the largest is 1 (no overflow; a common factor cancels in the rescaling).
    # Forbidden moves (-1e4) become exactly 0.
    trans = np.exp(transitions - transitions.max())
    trans_to = np.ascontiguousarray(trans.T)  # trans_to[j]: the scores of moves into j
    totals = np.empty((2, steps, rows))  # each step's sum before rescaling, forward and backward

    alphas = np.empty_like(p)
    alpha = np.exp(start - start.max()) * p[0]
    totals[0, 0] = alpha.sum(axis=1)
    alpha /= totals[0, 0, :, None]
    alphas[0] = alpha
    for t in range(1, steps):
        nxt = alpha[:, 0, None] * trans[0]
        for i in range(1, labels):  # a fixed-order sum: no library may reorder it
            nxt += alpha[:, i, None] * trans[i]
        nxt *= p[t]
        total = nxt.sum(axis=1, keepdims=True)
        totals[0, t] = total[:, 0]
        alpha = nxt / total
        alphas[t] = alpha  # off-steps hold garbage that no on-step reads

    betas = np.empty_like(p)
    beta = np.broadcast_to(np.exp(end - end.max()), (rows, labels))
    betas[steps - 1] = beta
    for t in range(steps - 2, -1, -1):
        weighted = p[t + 1] * beta
        prev = weighted[:, 0, None] * trans_to[0]
        for j in range(1, labels):
            prev += weighted[:, j, None] * trans_to[j]
        total = prev.sum(axis=1, keepdims=True)
        totals[1, t] = total[:, 0]
        prev /= total
        # A row's beta starts (as ``end``) at its own last step.
        beta = prev if t + 1 < all_on else np.where((t + 1 < lengths)[:, None], prev, beta)
        betas[t] = beta

    del p
    alphas *= betas  # in place: the decoder's memory is a few arrays of budget × labels float64
    del betas
    norm = alphas.sum(axis=2)  # shape: (steps, rows)
    alphas /= norm[:, :, None]
    return alphas.astype(np.float32), totals, norm


def _log_space(emissions: np.ndarray, lengths: np.ndarray, start, end, transitions) -> np.ndarray:
    """``nercore.tagging.crf.marginals`` on these rows (time-major in and out)."""
    batch = torch.from_numpy(np.ascontiguousarray(emissions.transpose(1, 0, 2)))
    mask = torch.from_numpy(np.arange(emissions.shape[0])[None, :] < lengths[:, None])
    scores = (torch.from_numpy(np.asarray(a)) for a in (start, end, transitions))
    return torch_crf.marginals(batch, mask, *scores).numpy().transpose(1, 0, 2)
