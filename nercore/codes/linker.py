"""Ranked ICD-10-CM candidate codes for disease mentions, offline.

For each mention: expand its abbreviations (the note's own definitions first, then clinical usage,
``nercore.codes.abbreviations``); look the expanded text up exactly (after ``code_terms.normalise``) among
Disease Ontology names and synonyms and ICD-10-CM texts, score 1.0; then rank the codes of the
nearest terms by cosine similarity of MiniLM vectors (``code_index``). A code's score is the best
of its terms' scores, in [0, 1]. A non-billable code's "unspecified" child is ranked just before
it. See ``Ranking`` for the rules and the README for the measured effect of each.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nercore.codes.abbreviations import Abbreviations, load_usage
from nercore.codes.encoder import TextEncoder
from nercore.codes.icd import codeset
from nercore.codes.index import CodeIndex, default_index
from nercore.codes.terms import normalise
from nercore.entity import Entity
from nercore.entity_columns import EntityColumns, LinkedCodes

DEFAULT_K = 5
DEFAULT_THRESHOLD = 0.5
QUERY_ROWS = 64  # queries per similarity product (a fixed shape)
CACHE_SIZE = 200_000  # ranked queries kept per linker: clinical notes repeat the same mentions
_SOURCE_RANK = {"doid_name": 0, "doid_synonym": 1, "icd_description": 2, "icd_inclusion": 3, "icd_includes": 4}


@dataclass(frozen=True)
class CodeCandidate:
    """One ranked ICD-10-CM candidate: ``billable`` is True for codes valid on a claim (leaves)."""

    code: str
    description: str
    score: float
    billable: bool


@dataclass(frozen=True)
class Ranking:
    """How candidates are ranked (the switches ``link_eval --ablate`` turns off one at a time).

    Attributes:
        abbreviations: expand abbreviations before matching.
        exact: normalised exact matches first, scored 1.0.
        doid: use the Disease Ontology terms (off: ICD-10-CM texts only).
        unspecified_child: rank a non-billable code's "unspecified" child just before it, with the
            same score (a coder needs a billable code, and "C18" means "C18.9" when nothing more
            is known; the child is right whenever the parent is).
        terms: nearest terms looked at per mention.
    """

    abbreviations: bool = True
    exact: bool = True
    doid: bool = True
    unspecified_child: bool = True
    terms: int = 64


@functools.cache  # a fixed code set: at most one entry per code
def unspecified_child(code: str) -> str | None:
    """The "unspecified" child of a non-billable code (C18 → C18.9 "Malignant neoplasm of colon,
    unspecified"; J18 → J18.9 "Pneumonia, unspecified", not J18.0 "Bronchopneumonia, unspecified
    organism"), if any: among the children whose text says ", unspecified", the one whose words
    are closest to the parent's, the last code on a tie. "E11.8 ... with unspecified
    complications" is not one."""
    if codeset().is_leaf(code):
        return None
    parent = set(codeset().get_description(code).lower().replace(",", " ").split())
    best, best_key = None, None
    for child in codeset().get_children(code):
        text = codeset().get_description(child).lower()
        if ", unspecified" not in text:
            continue
        words = set(text.replace(",", " ").split())
        key = (len(words & parent) / len(words | parent), child)
        if best_key is None or key > best_key:
            best, best_key = child, key
    return best


class CodeLinker:
    """Top-k ICD-10-CM codes for mentions in their notes.

    Args:
        index: the code index (terms and vectors).
        encoder: the text encoder the index was built with.
        usage: clinical abbreviation → expansion (``abbreviations.load_usage``).
        k: candidates per mention.
        threshold: below this top score an entity gets no ``icd10cm_code`` (its candidates are
            still listed).
        entity_types: the entity types that are linked.
        ranking: see ``Ranking``.
    """

    def __init__(
        self,
        index: CodeIndex,
        encoder: TextEncoder,
        usage: dict[str, str],
        k: int = DEFAULT_K,
        threshold: float = DEFAULT_THRESHOLD,
        entity_types: Sequence[str] = ("Disease",),
        ranking: Ranking = Ranking(),
    ):
        if k < 1:
            raise ValueError(f"expected k >= 1, got {k}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"expected threshold in [0, 1], got {threshold}")
        if index.vectors.shape[1] != encoder.dim:
            raise ValueError(
                f"expected index vectors of size {encoder.dim} (the encoder's), got {index.vectors.shape[1]}"
            )
        self.index, self.encoder, self.usage = index, encoder, usage
        self.k, self.threshold, self.entity_types, self.ranking = k, threshold, tuple(entity_types), ranking
        keep = np.array([ranking.doid or not t.source.startswith("doid") for t in index.terms], dtype=bool)
        self._term_ids = np.flatnonzero(keep)
        self._codes = [index.terms[i].code for i in self._term_ids]
        self._vectors = torch.from_numpy(index.vectors[keep].astype(np.float32)).to(
            encoder.device
        )  # shape: (terms, dim)
        self._cache: OrderedDict[str, tuple[CodeCandidate, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self._exact: dict[str, list[str]] = {}
        # "Includes" notes scope a whole category ("tumor NOS" under D49); they help the dense
        # ranking but are not names to match exactly.
        order = sorted(
            (i for i in self._term_ids if index.terms[i].source != "icd_includes"),
            key=lambda i: (_SOURCE_RANK[index.terms[i].source], i),
        )
        for i in order:
            codes = self._exact.setdefault(normalise(index.terms[i].text), [])
            if index.terms[i].code not in codes:
                codes.append(index.terms[i].code)

    @classmethod
    def load(
        cls,
        index: str | Path | None = None,
        device: str | torch.device = "cpu",
        k: int = DEFAULT_K,
        threshold: float = DEFAULT_THRESHOLD,
        usage: str | Path | None = None,
        ranking: Ranking = Ranking(),
        prefixes: Sequence[str] = (),
    ) -> CodeLinker:
        """A linker over an index folder (None → ``$NERCORE_CODE_INDEX``, else the cached index,
        built on first use)."""
        folder = Path(index) if index is not None else default_index(prefixes)
        return cls(CodeIndex.load(folder), TextEncoder(device=device), load_usage(usage), k, threshold, ranking=ranking)

    def link(self, text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[CodeCandidate, ...]]:
        """Ranked candidates for each ``(start, end)`` mention of one note."""
        return self.link_many([text], [spans])[0]

    def link_many(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> list[list[tuple[CodeCandidate, ...]]]:
        """``link`` for several notes, with all their mentions embedded in one batched pass."""
        if len(texts) != len(spans):
            raise ValueError(f"expected one span list per text, got {len(spans)} for {len(texts)} texts")
        queries = []
        for text, note_spans in zip(texts, spans):
            abbreviations = Abbreviations(text, self.usage) if self.ranking.abbreviations else None
            for start, end in note_spans:
                mention = text[start:end]
                queries.append(abbreviations.expand(mention, start) if abbreviations else mention)
        ranked = self.rank(queries)
        out, position = [], 0
        for note_spans in spans:
            out.append(ranked[position : position + len(note_spans)])
            position += len(note_spans)
        return out

    def rank(self, queries: Sequence[str]) -> list[tuple[CodeCandidate, ...]]:
        """Ranked candidates for each query text (a mention with its abbreviations expanded)."""
        # A query's candidates depend on its text only (fixed shapes), so earlier answers are reused.
        # The lock guards the cache only: a tagger (and its linker) may be shared by threads.
        with self._lock:
            known = {q: self._cache[q] for q in set(queries) if q in self._cache}
        unique = sorted(set(queries) - known.keys())
        fresh = {q: self._candidates(q, d) for q, d in zip(unique, self._dense(unique))}
        with self._lock:
            for q, candidates in fresh.items():
                self._cache[q] = candidates
            for q in known:
                if q in self._cache:
                    self._cache.move_to_end(q)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        answers = known | fresh
        return [answers[q] for q in queries]

    def _dense(self, queries: Sequence[str]) -> list[list[tuple[str, float]]]:
        """(code, best cosine) of the nearest terms' codes, best first, per query."""
        vectors = self.encoder.encode(queries)  # shape: (queries, dim)
        rows, wanted = QUERY_ROWS, min(self.ranking.terms, len(self._codes))
        out = []
        for start in range(0, len(queries), rows):
            # A fixed number of rows per product: each query's scores never depend on its neighbours.
            block = np.zeros((rows, vectors.shape[1]), dtype=np.float32)
            block[: min(rows, len(queries) - start)] = vectors[start : start + rows]
            with torch.inference_mode():
                scores = (
                    (torch.from_numpy(block).to(self._vectors.device) @ self._vectors.T).cpu().numpy()
                )  # shape: (rows, terms)
            for row in scores[: min(rows, len(queries) - start)]:
                top = np.argpartition(-row, wanted - 1)[:wanted] if wanted < len(row) else np.arange(len(row))
                top = top[np.lexsort((top, -row[top]))]  # best first; ties by term order, so any machine agrees
                best: dict[str, float] = {}
                for i in top:
                    best.setdefault(self._codes[i], float(row[i]))
                out.append(list(best.items()))
        return out

    def _candidates(self, query: str, dense: list[tuple[str, float]]) -> tuple[CodeCandidate, ...]:
        ranked: dict[str, float] = {}
        if self.ranking.exact:
            for code in self._exact.get(normalise(query), []):
                ranked.setdefault(code, 1.0)
        for code, score in dense:
            ranked.setdefault(code, min(max(score, 0.0), 1.0))
        order = list(ranked.items())
        if self.ranking.unspecified_child:
            order = _with_unspecified_children(order)
        return tuple(
            CodeCandidate(code, codeset().get_description(code), round(score, 6), codeset().is_leaf(code))
            for code, score in order[: self.k]
        )

    def link_columns(self, texts: Sequence[str], columns: EntityColumns) -> EntityColumns:
        """``columns`` with the code fields set (``apply`` for entities as columns)."""
        n = len(columns)
        linked = np.fromiter(
            (t in self.entity_types for t in columns.entity_type), dtype=bool, count=n
        )  # shape: (entities,)
        which = np.flatnonzero(linked)
        text, start, end = columns.text[which], columns.start_char[which], columns.end_char[which]
        bounds = np.searchsorted(text, np.arange(columns.texts + 1)).tolist()
        spans = [list(zip(start[a:b].tolist(), end[a:b].tolist())) for a, b in zip(bounds[:-1], bounds[1:])]  # per text
        found = [c for per_text in self.link_many(texts, spans) for c in per_text]
        icd10cm_code: list[str | None] = [None] * n
        icd10cm_score: list[float | None] = [None] * n
        codes: list[tuple] = [()] * n
        for i, candidates in zip(which.tolist(), found):
            top = candidates[0] if candidates and candidates[0].score >= self.threshold else None
            codes[i] = candidates
            if top is not None:
                icd10cm_code[i], icd10cm_score[i] = top.code, top.score
        return columns.with_codes(LinkedCodes(icd10cm_code=icd10cm_code, icd10cm_score=icd10cm_score, codes=codes))

    def apply(self, texts: Sequence[str], entities: Sequence[Sequence[Entity]]) -> list[list[Entity]]:
        """Entities with ``icd10cm_code``, ``icd10cm_score`` and ``codes`` set for the linked types."""
        spans = [[(e.start_char, e.end_char) for e in ents if e.entity_type in self.entity_types] for ents in entities]
        linked = self.link_many(texts, spans)
        out = []
        for ents, candidates in zip(entities, linked):
            it = iter(candidates)
            note = []
            for e in ents:
                if e.entity_type not in self.entity_types:
                    note.append(e)
                    continue
                codes = next(it)
                top = codes[0] if codes and codes[0].score >= self.threshold else None
                note.append(
                    dataclasses.replace(
                        e, icd10cm_code=top.code if top else None, icd10cm_score=top.score if top else None, codes=codes
                    )
                )
            out.append(note)
        return out


def _with_unspecified_children(order: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Each non-billable code preceded by its "unspecified" child (same score), without repeats.

    The child first: it is right whenever its parent is (it lies below it) and it is billable.
    """
    out: list[tuple[str, float]] = []
    seen = set()
    for code, score in order:
        for c in (unspecified_child(code), code):
            if c is not None and c not in seen:
                seen.add(c)
                out.append((c, score))
    return out
