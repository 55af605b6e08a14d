"""Trigger phrases matched over the words of many texts at once (array operations).

Each word's normalised form becomes the index of that word in the rules' vocabulary (-1 for a word
no trigger uses); each phrase of ``L`` words becomes a 64-bit hash of its word indices. A phrase
matches at word ``i`` where the hash of words ``i .. i+L-1`` (all in one text) equals the phrase's,
checked word by word so that a hash collision cannot make a false match.

Matches are then chosen as the per-word loop of the original engine chose them: from left to
right, the longest phrase that starts at a word, none overlapping an earlier choice. Most matches
overlap no other candidate and are taken at once; only the rare runs of overlapping candidates
("no increase" around "increase ...") are resolved one by one. Pseudo-triggers consume their words
and are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat

import numpy as np

from nercore.context.rules import TRIGGER_CATEGORIES, ContextRules
from nercore.context.vocabulary import SpelledVocabulary
from nercore.context.words import Words

# Category codes of the trigger arrays: the five that set an attribute first, in TRIGGER_CATEGORIES' order.
CATEGORIES = (*TRIGGER_CATEGORIES, "PSEUDO", "TERMINATE")
PSEUDO, TERMINATE = CATEGORIES.index("PSEUDO"), CATEGORIES.index("TERMINATE")
FORWARD, BACKWARD = 1, 2  # direction bits; "both" is 3
_DIRECTIONS = {"forward": FORWARD, "backward": BACKWARD, "both": FORWARD | BACKWARD, None: 0}
ALL_CATEGORIES = (1 << len(TRIGGER_CATEGORIES)) - 1  # a terminator of every category
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: words' positions in a phrase hash differently


@dataclass(frozen=True)
class Matches:
    """Chosen trigger matches of joined texts, in order of their first word, and their triggers
    flattened in rule order (a phrase may carry several: "family history" is OTHER and HISTORICAL)."""

    start: np.ndarray  # int64 (matches,): first word
    end: np.ndarray  # int64 (matches,): one past the last word
    cue_match: np.ndarray  # int64 (cues,): the match each trigger belongs to, ascending
    category: np.ndarray  # int8 (cues,): index into CATEGORIES (never PSEUDO)
    direction: np.ndarray  # int8 (cues,): FORWARD | BACKWARD bits
    max_scope: np.ndarray  # int64 (cues,): words; -1 for up to the sentence's end
    terminates: np.ndarray  # int64 (cues,): bit c set where a TERMINATE cue ends category c


class TriggerTable:
    """The trigger phrases of ``rules`` as arrays (build once per rule set)."""

    def __init__(self, rules: ContextRules):
        phrases = list(rules.by_words)
        self.vocabulary = {w: i for i, w in enumerate(sorted({w for p in phrases for w in p}))}
        self._spelled = SpelledVocabulary(self.vocabulary)
        self.lengths = sorted({len(p) for p in phrases}, reverse=True)  # longest first
        self._ids: dict[int, np.ndarray] = {}  # length → (phrases, length) word indices, in hash order
        self._keys: dict[int, np.ndarray] = {}  # length → sorted hashes
        self._phrase: dict[int, np.ndarray] = {}  # length → phrase index of each sorted hash
        for length in self.lengths:
            index = [i for i, p in enumerate(phrases) if len(p) == length]
            ids = np.array([[self.vocabulary[w] for w in phrases[i]] for i in index], dtype=np.int64)
            keys = _hash(ids)
            order = np.argsort(keys, kind="stable")
            if np.unique(keys).size != keys.size:
                raise ValueError(f"expected distinct phrase hashes, got a collision among {length}-word triggers")
            self._ids[length], self._keys[length] = ids[order], keys[order]
            self._phrase[length] = np.array(index, dtype=np.int64)[order]
        triggers = [rules.by_words[p] for p in phrases]
        counts = np.array([len(t) for t in triggers], dtype=np.int64)
        self._first_trigger = np.concatenate(([0], np.cumsum(counts)))
        flat = [t for ts in triggers for t in ts]
        self._category = np.array([CATEGORIES.index(t.category) for t in flat], dtype=np.int8)
        self._direction = np.array([_DIRECTIONS[t.direction] for t in flat], dtype=np.int8)
        self._max_scope = np.array([-1 if t.max_scope is None else t.max_scope for t in flat], dtype=np.int64)
        self._terminates = np.array(
            [sum(1 << CATEGORIES.index(c) for c in t.terminates) or ALL_CATEGORIES for t in flat], dtype=np.int64
        )
        # a phrase's triggers are all PSEUDO or none is (the original engine read the first)
        self._is_pseudo = np.array([ts[0].category == "PSEUDO" for ts in triggers], dtype=bool)

    def norm_ids(self, norms: Sequence[str]) -> np.ndarray:
        """Each norm's index in the vocabulary, -1 where no trigger uses it."""
        # map() calls dict.get from C: no Python bytecode runs per word
        return np.fromiter(map(self.vocabulary.get, norms, repeat(-1)), dtype=np.int64, count=len(norms))

    def word_ids(self, words: Words) -> np.ndarray:
        """Each word's index in the vocabulary, -1 where no trigger uses it: looked up by its
        lower-cased code points (``SpelledVocabulary``), or by its norm where the text's case
        mapping needs strings (final sigma, "İ")."""
        if words.lowered_codes is None:
            return self.norm_ids(words.norms)
        ids = self._spelled.lookup(words.lowered_codes, words.start, words.end)
        ids[words.is_num] = self.vocabulary.get("<num>", -1)
        ids[words.is_number & ~words.is_num] = self.vocabulary.get("<year>", -1)
        return ids

    def match(self, norms: Sequence[str], text_offsets: np.ndarray) -> Matches:
        """``match_ids`` of words given by their norms."""
        return self.match_ids(self.norm_ids(norms), text_offsets)

    def match_ids(self, ids: np.ndarray, text_offsets: np.ndarray) -> Matches:
        """The chosen matches over words (their vocabulary indices, ``word_ids``) whose texts start
        at ``text_offsets`` (texts + 1,)."""
        n = ids.size
        run = _known_runs(ids, text_offsets)
        best_length = np.zeros(n, dtype=np.int64)
        best_phrase = np.full(n, -1, dtype=np.int64)
        for length in self.lengths:  # longest first: a position keeps the first length that matches
            if n < length:
                continue
            windows = np.lib.stride_tricks.sliding_window_view(ids, length)  # shape: (n - length + 1, length)
            m = n - length + 1
            where = np.flatnonzero((run[:m] >= length) & (best_length[:m] == 0))
            keys = _hash(windows[where])
            slot = np.minimum(np.searchsorted(self._keys[length], keys), self._keys[length].size - 1)
            hit = self._keys[length][slot] == keys
            where, slot = where[hit], slot[hit]
            exact = (self._ids[length][slot] == windows[where]).all(axis=1)  # no false match from a collision
            best_length[where[exact]], best_phrase[where[exact]] = length, self._phrase[length][slot[exact]]
        start = np.flatnonzero(best_length)
        chosen = _choose(start, start + best_length[start])
        start = start[chosen]
        phrase = best_phrase[start]
        end = start + best_length[start]
        keep = ~self._is_pseudo[phrase]  # pseudo-triggers consumed their words; they set nothing
        start, end, phrase = start[keep], end[keep], phrase[keep]
        first, counts = self._first_trigger[phrase], np.diff(self._first_trigger)[phrase]
        cue_match = np.repeat(np.arange(start.size), counts)
        offsets = np.concatenate(([0], np.cumsum(counts)))[:-1]
        cue = first[cue_match] + np.arange(cue_match.size) - offsets[cue_match]
        return Matches(
            start=start,
            end=end,
            cue_match=cue_match,
            category=self._category[cue],
            direction=self._direction[cue],
            max_scope=self._max_scope[cue],
            terminates=self._terminates[cue],
        )


def _known_runs(ids: np.ndarray, text_offsets: np.ndarray) -> np.ndarray:
    """For each word, how many words from it on are in the vocabulary and in its text: a phrase
    of ``L`` words can start only where this is at least ``L``."""
    # shape: ids (words,), text_offsets (texts + 1,) → (words,) int64
    n = ids.size
    starts = text_offsets[(text_offsets > 0) & (text_offsets < n)]  # a text's first word ends the run before it
    ends_run = np.append(ids < 0, True)  # shape: (words + 1,)
    ends_run[starts] = True
    first_end = np.minimum.accumulate(np.where(ends_run, np.arange(n + 1), n)[::-1])[::-1]
    # A run from a text's first word may go on past it: there, the first end after the word counts.
    first_end_after = first_end[1:]
    own = first_end[:n].copy()
    at_start = starts[ids[starts] >= 0]
    own[at_start] = first_end_after[at_start]
    return own - np.arange(n)


def _hash(ids: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row of word indices (wrapping arithmetic)."""
    # shape: ids (rows, length) int64 → (rows,) uint64
    out = np.zeros(ids.shape[0], dtype=np.uint64)
    for j in range(ids.shape[1]):
        out = out * _MULTIPLIER + (ids[:, j].astype(np.uint64) + np.uint64(1))
    return out


def _choose(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Which candidates (sorted by start, one per start) the left-to-right greedy scan takes."""
    if start.size == 0:
        return np.zeros(0, dtype=bool)
    reach = np.maximum.accumulate(end)  # the furthest word any candidate up to here covers
    clear = np.concatenate(([True], reach[:-1] <= start[1:]))  # no earlier candidate covers this start
    chosen = clear.copy()
    heads = np.flatnonzero(clear)
    tangled = np.flatnonzero(~clear)
    if tangled.size:
        # a run is a head and the tangled candidates after it; the head is taken, the rest in turn
        run_head = heads[np.searchsorted(heads, tangled, side="right") - 1]
        resume, last_head = 0, -1
        for k, head in zip(tangled.tolist(), run_head.tolist()):
            if head != last_head:
                resume, last_head = int(end[head]), head
            if start[k] >= resume:
                chosen[k] = True
                resume = int(end[k])
    return chosen
