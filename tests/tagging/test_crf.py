"""The batched CRF (torch, and numpy on the host) against a brute-force oracle and pytorch-crf."""

import itertools

import numpy as np
import pytest
import torch
from torchcrf import CRF

from nercore.labels import LabelSet
from nercore.tagging import crf_host
from nercore.tagging.crf import constrain, marginals, viterbi_decode
from nercore.tagging.decoding import decode_groups, decode_words


def host_decode(emissions, mask, start, end, transitions):
    """``nercore.tagging.crf_host`` with the torch functions' arguments and results (batch-major)."""
    label_major = emissions.double().permute(2, 1, 0).contiguous().numpy()
    lengths = mask.sum(1).numpy()
    scores = [x.double().numpy() for x in (start, end, transitions)]
    tags = crf_host.viterbi(label_major, lengths, *scores)
    probs = crf_host.marginals(label_major, lengths, *scores)
    return torch.from_numpy(tags.T.copy()), torch.from_numpy(probs.transpose(2, 1, 0).copy())


def torch_decode(emissions, mask, start, end, transitions):
    return viterbi_decode(emissions, mask, start, end, transitions), marginals(emissions, mask, start, end, transitions)


DECODERS = {"torch": torch_decode, "host": host_decode}


def bio_scores(seed=0):
    """A 5-label BIO CRF (O, B-X, I-X, B-Y, I-Y) with random scores and the constraints."""
    label_set = LabelSet(["Chemical", "Disease"])
    g = torch.Generator().manual_seed(seed)
    raw = torch.randn(5, generator=g), torch.randn(5, generator=g), torch.randn(5, 5, generator=g) * 2
    return constrain(*raw, torch.tensor(label_set.allowed_starts()), torch.tensor(label_set.allowed_transitions()))


def ragged(seed, batch, steps, labels=5, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    emissions = torch.randn(batch, steps, labels, generator=g) * scale
    lengths = torch.randint(1, steps + 1, (batch,), generator=g)
    lengths[0] = steps
    return emissions, torch.arange(steps)[None, :] < lengths[:, None]


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


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("seed", range(8))
def test_viterbi_and_marginals_match_brute_force(seed, decoder):
    emissions, mask, lengths, start, end, transitions = random_case(seed)
    tags, probs = DECODERS[decoder](emissions, mask, start, end, transitions)
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


@pytest.mark.parametrize("seed", range(6))
def test_host_decoding_agrees_with_torch_on_long_ragged_bio_batches(seed):
    """Same paths; marginals equal to float32 rounding (float64 inside, different arithmetic)."""
    scores = bio_scores(seed)
    emissions, mask = ragged(seed, batch=9, steps=400)
    tags, probs = torch_decode(emissions, mask, *scores)
    host_tags, host_probs = host_decode(emissions, mask, *scores)
    assert torch.equal(host_tags[mask], tags[mask])
    torch.testing.assert_close(host_probs[mask], probs[mask], atol=2e-7, rtol=0)


def test_host_results_of_a_row_do_not_depend_on_the_other_rows():
    """Bit-identical alone, among others, in another position and in another batch size."""
    scores = bio_scores(1)
    emissions, mask = ragged(3, batch=12, steps=90)
    tags, probs = host_decode(emissions, mask, *scores)
    for row in (0, 5, 11):
        n = int(mask[row].sum())
        alone_tags, alone_probs = host_decode(emissions[row : row + 1, :n], mask[row : row + 1, :n], *scores)
        assert torch.equal(alone_tags[0], tags[row, :n])
        assert torch.equal(alone_probs[0], probs[row, :n])
    order = torch.randperm(12, generator=torch.Generator().manual_seed(0))
    shuffled_tags, shuffled_probs = host_decode(emissions[order], mask[order], *scores)
    on = mask[order]
    assert torch.equal(shuffled_tags[on], tags[order][on])
    assert torch.equal(shuffled_probs[on], probs[order][on])


def test_host_marginals_fall_back_to_log_space_where_probabilities_underflow():
    """A broken model's emission gaps of thousands of nats would underflow the rescaled
    recursion; that row is recomputed in log space, the other rows keep their own results."""
    scores = bio_scores(2)
    emissions, mask = ragged(4, batch=3, steps=12)
    emissions[1] *= 1000.0
    tags, probs = host_decode(emissions, mask, *scores)
    torch_tags, _ = torch_decode(emissions, mask, *scores)
    n = int(mask[1].sum())
    _, row_alone = torch_decode(emissions[1:2, :n], mask[1:2, :n], *scores)  # what the fallback computes
    assert torch.isfinite(probs[1, :n]).all()
    assert torch.equal(probs[1, :n], row_alone[0])
    assert torch.equal(tags[mask], torch_tags[mask])
    _, normal = host_decode(emissions[[0, 2]], mask[[0, 2]], *scores)
    assert torch.equal(normal[mask[[0, 2]]], probs[[0, 2]][mask[[0, 2]]])
    with np.errstate(all="ignore"):
        _, totals, _ = crf_host._forward_backward(
            emissions[1:2, :n].double().permute(2, 1, 0).numpy(), np.array([n]), *[x.double().numpy() for x in scores]
        )
    assert not (totals[:, :n] > crf_host.UNDERFLOW).all()  # so the fallback was needed


@pytest.mark.parametrize("decoder", DECODERS)
def test_constrained_decoding_always_gives_valid_bio(decoder):
    label_set = LabelSet(["Chemical", "Disease"])
    allowed = torch.tensor(label_set.allowed_transitions())
    allowed_starts = torch.tensor(label_set.allowed_starts())
    torch.manual_seed(0)
    # Emissions that strongly prefer I- tags everywhere, which unconstrained decoding would follow.
    emissions = torch.randn(16, 30, len(label_set))
    emissions[:, :, [2, 4]] += 6.0
    scores = constrain(torch.zeros(5), torch.zeros(5), torch.zeros(5, 5), allowed_starts, allowed)
    tags, _ = DECODERS[decoder](emissions, torch.ones(16, 30, dtype=torch.bool), *scores)
    for row in tags.tolist():
        labels = label_set.decode(row)
        assert not labels[0].startswith("I-")
        for prev, cur in zip(labels, labels[1:]):
            if cur.startswith("I-"):
                assert prev != "O" and prev[2:] == cur[2:], (prev, cur)


def test_shape_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="expected emissions of shape"):
        viterbi_decode(
            torch.zeros(3, 4), torch.ones(3, 4, dtype=torch.bool), torch.zeros(4), torch.zeros(4), torch.zeros(4, 4)
        )
    with pytest.raises(ValueError, match="first step"):
        viterbi_decode(
            torch.zeros(1, 2, 3), torch.tensor([[False, True]]), torch.zeros(3), torch.zeros(3), torch.zeros(3, 3)
        )


def test_host_shape_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="expected emissions of shape"):
        crf_host.viterbi(np.zeros((3, 4)), np.ones(3, dtype=np.int64), np.zeros(4), np.zeros(4), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="expected lengths between 1 and 2"):
        crf_host.marginals(np.zeros((3, 2, 1)), np.array([3]), np.zeros(3), np.zeros(3), np.zeros((3, 3)))


def test_decode_words_on_the_host_agrees_with_the_device_path_and_ignores_grouping():
    """``decode_words`` over stitched texts of 1 to 3,000 words: the numpy host path gives the
    torch path's labels and (to float32 rounding) its confidences, and bit-identical results
    whatever the CRF budget, i.e. however texts are grouped."""
    g = torch.Generator().manual_seed(7)
    lengths = np.array([1, 3000, 0, 40, 41, 700, 2, 39, 1200, 5] * 3)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    emissions = torch.randn(int(offsets[-1]), 5, generator=g) * 3
    scores = bio_scores(5)
    host = decode_words(emissions, offsets, scores, budget=1 << 16, host=True)
    device = decode_words(emissions, offsets, scores, budget=1 << 16, host=False)
    assert np.array_equal(host.label_ids, device.label_ids)
    np.testing.assert_allclose(host.confidence, device.confidence, atol=2e-7, rtol=0)
    np.testing.assert_allclose(host.total, device.total, atol=1e-4, rtol=0)
    for budget in (1, 5000, 1 << 20):
        other = decode_words(emissions, offsets, scores, budget=budget, host=True)
        for field in ("label_ids", "confidence", "cumulative", "total"):
            assert np.array_equal(getattr(other, field), getattr(host, field)), (budget, field)


def test_decode_groups_cover_each_text_once_within_the_budget_longest_first():
    rng = np.random.default_rng(3)
    lengths = np.concatenate([rng.integers(0, 70, size=500), [3000, 0, 1]])
    groups = decode_groups(lengths, budget=4096)
    flat = np.concatenate(groups)
    assert sorted(flat.tolist()) == np.flatnonzero(lengths > 0).tolist()  # every text with words, once
    assert all(g.size == 1 or g.size * lengths[g].max() <= 4096 for g in groups)
    assert lengths[groups[0][0]] == 3000 and groups[0].size == 1  # longer than the budget: alone
    maxima = [int(lengths[g].max()) for g in groups]
    assert maxima == sorted(maxima, reverse=True)  # the last group holds the shortest texts
    assert lengths[groups[-1]].max() < 10


@pytest.mark.parametrize("few_rows", [0, 10**6])  # both of the host Viterbi's ways of stepping
def test_host_viterbi_rounds_near_ties_as_torch_does(few_rows, monkeypatch):
    """Whole-number emissions beside forbidden moves (-1e4) give candidates that tie only after
    rounding: the host adds (score + transition) + emission in torch's order, so it picks the same
    label sequences bit for bit (adding the emission after the maximum did not, in this case)."""
    monkeypatch.setattr(crf_host, "FEW_ROWS", few_rows)
    rng = np.random.default_rng(7)
    rows, steps, labels = 300, 50, 9
    rng.choice(8), rng.integers(1, 80), rng.choice(3)  # the draws that made this case
    emissions = np.round(rng.normal(size=(steps, rows, labels)) * rng.choice([1, 3, 10]))
    lengths = rng.integers(1, steps + 1, size=rows)
    start, end = rng.normal(size=labels), rng.normal(size=labels)
    transitions = rng.normal(size=(labels, labels))
    transitions[rng.random((labels, labels)) < 0.3] = -1e4
    transitions = np.round(transitions)
    batch = torch.from_numpy(emissions.transpose(1, 0, 2).copy())
    mask = torch.from_numpy(np.arange(steps)[None, :] < lengths[:, None])
    scores = [torch.from_numpy(x) for x in (start, end, transitions)]
    host_tags, _ = host_decode(batch, mask, *scores)
    assert torch.equal(host_tags[mask], viterbi_decode(batch, mask, *scores)[mask])


def test_host_marginals_are_the_same_bits_either_way_of_stepping(monkeypatch):
    """Forward-backward sums a step's products all at once (few rows) or a label at a time (many):
    the same products, summed in the same order, so the same bits; and both match torch."""
    scores = bio_scores(4)
    emissions, mask = ragged(5, batch=40, steps=120)
    emissions[3] *= 200  # a row whose rescaling underflows: the log-space fallback
    results = {}
    for few_rows in (0, 10**6):
        monkeypatch.setattr(crf_host, "FEW_ROWS", few_rows)
        results[few_rows] = host_decode(emissions, mask, *scores)[1]
    assert torch.equal(results[0][mask], results[10**6][mask])
    torch.testing.assert_close(results[0][mask], marginals(emissions, mask, *scores)[mask], atol=2e-7, rtol=0)
