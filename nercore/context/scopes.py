"""Which trigger reaches which mention, for all mentions at once (array operations).

Every (mention, trigger) pair in the mention's sentence is one row: a trigger before the mention
that looks forward, or one after it that looks backward, reaches it unless it lies inside the
mention, its ``max_scope`` is shorter than the words between, or a terminator of its category lies
between them. Of the triggers that reach a mention, the nearest sets each attribute; on a tie the
first in text and rule order wins, as in the original per-mention loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nercore.context.matching import BACKWARD, CATEGORIES, FORWARD, TERMINATE, Matches
from nercore.context.rules import ATTRIBUTE_VALUES, TRIGGER_CATEGORIES

ATTRIBUTES = tuple(ATTRIBUTE_VALUES)  # negation, temporality, experiencer
# category code → (attribute index, value code) of what it sets
_SETS = np.array(
    [
        (ATTRIBUTES.index(attribute), ATTRIBUTE_VALUES[attribute].index(value))
        for attribute, value in TRIGGER_CATEGORIES.values()
    ],
    dtype=np.int64,
)


@dataclass(frozen=True)
class MentionWords:
    """Where each mention sits among the words of the joined texts."""

    first: np.ndarray  # int64 (mentions,): first word ending after the mention's start
    last: np.ndarray  # int64 (mentions,): one past the last word starting before its end
    sentence_start: np.ndarray  # int64 (mentions,): first word of its sentence
    sentence_end: np.ndarray  # int64 (mentions,): one past its sentence's last word


def reached_values(matches: Matches, mentions: MentionWords) -> np.ndarray:
    """The value code each trigger sets, per mention and attribute; -1 where no trigger reaches it.

    Returns:
        shape (mentions, attributes) int64: codes into ``ATTRIBUTE_VALUES[attribute]``.
    """
    n = mentions.first.size
    out = np.full((n, len(ATTRIBUTES)), -1, dtype=np.int64)
    cue_start, cue_end = matches.start[matches.cue_match], matches.end[matches.cue_match]
    # the triggers of matches that start within each mention's sentence (cues are in match order)
    lo = np.searchsorted(cue_start, mentions.sentence_start)
    hi = np.searchsorted(cue_start, mentions.sentence_end)
    counts = hi - lo
    mention = np.repeat(np.arange(n), counts)  # shape: (pairs,)
    cue = lo[mention] + np.arange(mention.size) - np.repeat(np.cumsum(counts) - counts, counts)
    category = matches.category[cue]
    keep = category != TERMINATE
    mention, cue, category = mention[keep], cue[keep], category[keep]
    m_start, m_end = cue_start[cue], cue_end[cue]
    first, last = mentions.first[mention], mentions.last[mention]
    direction = matches.direction[cue]
    inside = (m_end > first) & (m_start < last)  # a cue inside the mention itself
    forward = ~inside & (m_end <= first) & ((direction & FORWARD) > 0)
    backward = (
        ~inside
        & ~forward
        & (m_start >= last)
        & ((direction & BACKWARD) > 0)
        & (m_start < mentions.sentence_end[mention])
    )
    between_lo = np.where(forward, m_end, last)
    between_hi = np.where(forward, first, m_start)
    distance = between_hi - between_lo
    scope = matches.max_scope[cue]
    ok = (forward | backward) & ((scope < 0) | (distance < scope))
    ok &= ~_terminated(matches, category, between_lo, between_hi)
    pair = np.flatnonzero(ok)
    if pair.size == 0:
        return out
    attribute, value = _SETS[category[pair], 0], _SETS[category[pair], 1]
    order = np.lexsort((pair, distance[pair], attribute, mention[pair]))  # nearest, then first, per group
    who, what = mention[pair][order], attribute[order]
    head = np.concatenate(([True], (who[1:] != who[:-1]) | (what[1:] != what[:-1])))
    out[who[head], what[head]] = value[order][head]
    return out


def _terminated(matches: Matches, category: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Does a terminator of each row's category lie within words ``[lo, hi)`` of that row?"""
    out = np.zeros(category.size, dtype=bool)
    is_terminator = matches.category == TERMINATE
    for code in range(len(CATEGORIES) - 2):  # the five categories that set an attribute
        rows = np.flatnonzero(category == code)
        ends_it = np.flatnonzero(is_terminator & ((matches.terminates >> code) & 1 > 0))
        if rows.size == 0 or ends_it.size == 0:
            continue
        # matches never overlap, so terminators sorted by start are sorted by end too
        t_start, t_end = matches.start[matches.cue_match[ends_it]], matches.end[matches.cue_match[ends_it]]
        a = np.searchsorted(t_start, lo[rows], side="left")  # first starting at or after lo
        b = np.searchsorted(t_end, hi[rows], side="right")  # past the last ending at or before hi
        out[rows] = b > a
    return out
