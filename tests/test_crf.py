"""The batched CRF against a brute-force oracle and against pytorch-crf."""

import itertools

import pytest
import torch
from torchcrf import CRF

from nercore.crf import constrain, marginals, viterbi_decode
from nercore.labels import LabelSet


def path_score(emissions, tags, start, end, transitions):
    score = start[tags[0]] + emissions[0, tags[0]]
    for a, b, t in zip(tags, tags[1:], range(1, len(tags))):
        score = score + transitions[a, b] + emissions[t, b]
    return score + end[tags[-1]]


def brute_force(emissions, length, start, end, transitions):
    """Best path and per-step marginals by enumerating every path of one sequence."""
    labels = emissions.shape[1]
    paths = list(itertools.product(range(labels), repeat=length))
    scores = torch.stack([path_score(emissions[:length], p, start, end, transitions) for p in paths])
    best = paths[int(scores.argmax())]
    probs = torch.softmax(scores, 0)
    marg = torch.zeros(length, labels)
    for p, prob in zip(paths, probs):
        for t, label in enumerate(p):
            marg[t, label] += prob
    return list(best), marg


def random_case(seed, batch=4, steps=5, labels=3):
    g = torch.Generator().manual_seed(seed)
    emissions = torch.randn(batch, steps, labels, generator=g) * 2
    lengths = torch.randint(1, steps + 1, (batch,), generator=g)
    lengths[0] = steps
    mask = torch.arange(steps)[None, :] < lengths[:, None]
    start, end = torch.randn(labels, generator=g), torch.randn(labels, generator=g)
    transitions = torch.randn(labels, labels, generator=g)
    return emissions, mask, lengths, start, end, transitions


@pytest.mark.parametrize("seed", range(8))
def test_viterbi_and_marginals_match_brute_force(seed):
    emissions, mask, lengths, start, end, transitions = random_case(seed)
    tags = viterbi_decode(emissions, mask, start, end, transitions)
    probs = marginals(emissions, mask, start, end, transitions)
    for b in range(emissions.shape[0]):
        n = int(lengths[b])
        best, marg = brute_force(emissions[b], n, start, end, transitions)
        assert tags[b, :n].tolist() == best
        torch.testing.assert_close(probs[b, :n], marg, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(probs[b, :n].sum(-1), torch.ones(n), atol=1e-5, rtol=0)


@pytest.mark.parametrize("seed", range(10))
def test_viterbi_equals_torchcrf_decode_on_ragged_batches(seed):
    torch.manual_seed(seed)
    labels, batch, steps = 5, 7, 23
    crf = CRF(labels, batch_first=True)
    torch.nn.init.normal_(crf.transitions)
    emissions = torch.randn(batch, steps, labels)
    lengths = torch.randint(1, steps + 1, (batch,))
    mask = torch.arange(steps)[None, :] < lengths[:, None]
    ours = viterbi_decode(emissions, mask, crf.start_transitions, crf.end_transitions, crf.transitions)
    theirs = crf.decode(emissions, mask=mask)
    for b, ref in enumerate(theirs):
        assert ours[b, : len(ref)].tolist() == ref


def test_constrained_decoding_always_gives_valid_bio():
    label_set = LabelSet(["Chemical", "Disease"])
    allowed = torch.tensor(label_set.allowed_transitions())
    allowed_starts = torch.tensor(label_set.allowed_starts())
    torch.manual_seed(0)
    # Emissions that strongly prefer I- tags everywhere, which unconstrained decoding would follow.
    emissions = torch.randn(16, 30, len(label_set))
    emissions[:, :, [2, 4]] += 6.0
    scores = constrain(torch.zeros(5), torch.zeros(5), torch.zeros(5, 5), allowed_starts, allowed)
    tags = viterbi_decode(emissions, torch.ones(16, 30, dtype=torch.bool), *scores)
    for row in tags.tolist():
        labels = label_set.decode(row)
        assert not labels[0].startswith("I-")
        for prev, cur in zip(labels, labels[1:]):
            if cur.startswith("I-"):
                assert prev != "O" and prev[2:] == cur[2:], (prev, cur)


def test_shape_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="expected emissions of shape"):
        viterbi_decode(torch.zeros(3, 4), torch.ones(3, 4, dtype=torch.bool), torch.zeros(4), torch.zeros(4), torch.zeros(4, 4))
    with pytest.raises(ValueError, match="first step"):
        viterbi_decode(torch.zeros(1, 2, 3), torch.tensor([[False, True]]), torch.zeros(3), torch.zeros(3), torch.zeros(3, 3))
