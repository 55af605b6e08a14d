"""Batched, device-side CRF inference: constrained Viterbi and forward-backward marginals.

pytorch-crf (``torchcrf.CRF``) owns the parameters and the training loss; these functions read
its parameters and decode whole batches with tensor operations over time steps (no Python loop
over batch items or labels), so they run wherever the emissions are (CPU or GPU).

Masks follow pytorch-crf's rule: ``mask[:, 0]`` is on and each row's on-steps are contiguous.

Both run in float64: path scores grow with sequence length (thousands over a long note), where
float32 resolves only ~1e-3, so tiny emission differences (from batch composition) would move
marginals and could flip near-ties. The tensors are small: (batch, steps, labels, labels).
"""

from __future__ import annotations

import torch

# Added to the score of a forbidden transition. Finite so that forward-backward never meets
# ``-inf - -inf``; large enough that no emission can outweigh it.
FORBIDDEN = -10000.0


def constrain(
    start: torch.Tensor,
    end: torch.Tensor,
    transitions: torch.Tensor,
    allowed_starts: torch.Tensor,
    allowed_transitions: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return CRF scores with forbidden starts and transitions pushed to ``FORBIDDEN``."""
    start = torch.where(allowed_starts, start, start + FORBIDDEN)
    transitions = torch.where(allowed_transitions, transitions, transitions + FORBIDDEN)
    return start, end, transitions


def _check(emissions: torch.Tensor, mask: torch.Tensor, transitions: torch.Tensor) -> None:
    if emissions.dim() != 3:
        raise ValueError(f"expected emissions of shape (batch, steps, labels), got {tuple(emissions.shape)}")
    if mask.shape != emissions.shape[:2]:
        raise ValueError(f"expected mask of shape {tuple(emissions.shape[:2])}, got {tuple(mask.shape)}")
    if transitions.shape != (emissions.shape[2], emissions.shape[2]):
        raise ValueError(f"expected transitions of shape {(emissions.shape[2],) * 2}, got {tuple(transitions.shape)}")
    if emissions.shape[1] and not bool(mask[:, 0].all()):
        raise ValueError("expected the first step of every sequence to be on in the mask, got an off one")


def viterbi_decode(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    transitions: torch.Tensor,
) -> torch.Tensor:
    """Best label sequence for each row.

    Args:
        emissions: shape (batch, steps, labels).
        mask: bool, shape (batch, steps).
        start, end: shape (labels,).
        transitions: shape (labels, labels); ``[i, j]`` scores label i followed by j.

    Returns:
        Long tensor of shape (batch, steps); entries where the mask is off are undefined.
    """
    _check(emissions, mask, transitions)
    batch, steps, _ = emissions.shape
    if steps == 0:
        return torch.zeros((batch, 0), dtype=torch.long, device=emissions.device)
    emissions, start, end, transitions = (t.double() for t in (emissions, start, end, transitions))
    lengths = mask.long().sum(1)  # shape: (batch,)
    score = start + emissions[:, 0]  # shape: (batch, labels)
    history = []
    for t in range(1, steps):
        # shape: (batch, from, to)
        candidates = score.unsqueeze(2) + transitions.unsqueeze(0) + emissions[:, t].unsqueeze(1)
        best, best_from = candidates.max(dim=1)  # shape: (batch, labels)
        score = torch.where(mask[:, t].unsqueeze(1), best, score)
        history.append(best_from)
    best_last = (score + end).argmax(dim=1)  # shape: (batch,)

    tags = torch.empty((batch, steps), dtype=torch.long, device=emissions.device)
    current = best_last
    for t in range(steps - 1, -1, -1):
        current = torch.where(lengths - 1 == t, best_last, current)
        tags[:, t] = current
        if t > 0:
            previous = history[t - 1].gather(1, current.unsqueeze(1)).squeeze(1)
            current = torch.where(t < lengths, previous, current)
    return tags


def marginals(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    transitions: torch.Tensor,
) -> torch.Tensor:
    """Posterior probability of each label at each step (forward-backward in log space).

    Returns:
        Float tensor of shape (batch, steps, labels); rows sum to 1 where the mask is on.
    """
    _check(emissions, mask, transitions)
    batch, steps, labels = emissions.shape
    if steps == 0:
        return emissions.new_zeros((batch, 0, labels), dtype=torch.float32)
    emissions, start, end, transitions = (t.double() for t in (emissions, start, end, transitions))
    trans = transitions.unsqueeze(0)  # shape: (1, from, to)

    alphas = [start + emissions[:, 0]]  # each shape: (batch, labels)
    for t in range(1, steps):
        step = torch.logsumexp(alphas[-1].unsqueeze(2) + trans, dim=1) + emissions[:, t]
        alphas.append(torch.where(mask[:, t].unsqueeze(1), step, alphas[-1]))

    beta = end.expand(batch, labels)
    betas = [beta]
    for t in range(steps - 2, -1, -1):
        step = torch.logsumexp(trans + (emissions[:, t + 1] + beta).unsqueeze(1), dim=2)
        beta = torch.where(mask[:, t + 1].unsqueeze(1), step, beta)
        betas.append(beta)
    betas.reverse()

    alpha = torch.stack(alphas, dim=1)  # shape: (batch, steps, labels)
    beta = torch.stack(betas, dim=1)  # shape: (batch, steps, labels)
    log_z = torch.logsumexp(alphas[-1] + end, dim=1)  # shape: (batch,)
    return torch.exp(alpha + beta - log_z[:, None, None]).float()
