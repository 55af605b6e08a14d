"""The ICD-10-CM code index: every term of ``code_terms`` with its MiniLM vector, and provenance.

An index is a folder: ``terms.tsv`` (text, code, source), ``vectors.npy`` (float16, unit length,
one row per term) and ``manifest.json`` (sources and versions, encoder, scope). It is built with
``python -m nercore.cli.build_code_index --output DIR`` or, when the linker is given no index, on first
use into a per-user cache keyed by every input's version (a few minutes on a 2-core CPU, seconds
on a GPU). It does not ship in the repository: about 70,000 vectors would be some 50 MB.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nercore.codes.encoder import TextEncoder
from nercore.codes.terms import Term, all_terms, icd_version, read_doid
from nercore.sources import BASE_ENCODER_PACKAGE, BASE_ENCODER_SHA256

log = logging.getLogger(__name__)
FORMAT = 2
CACHE_ENV = "NERCORE_CACHE"
INDEX_ENV = "NERCORE_CODE_INDEX"  # an index folder to use instead of the cache (e.g. one baked into an image)


def encoder_version() -> str:
    return f"{BASE_ENCODER_PACKAGE} (model.safetensors sha256 {BASE_ENCODER_SHA256[:16]})"


def index_key(prefixes: Sequence[str] = ()) -> str:
    """What a cached index must match: format, sources' versions, encoder and scope."""
    _, doid = read_doid()
    parts = [str(FORMAT), icd_version(), doid.get("version", "?"), encoder_version(), ",".join(sorted(prefixes))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def default_cache() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "nercore") / "code-index"


@dataclass
class CodeIndex:
    """Terms and their vectors (row i of ``vectors`` is ``terms[i]``), and the manifest."""

    terms: list[Term]
    vectors: np.ndarray  # shape: (len(terms), dim), float16, unit rows
    manifest: dict

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.terms):
            raise ValueError(f"expected vectors of shape ({len(self.terms)}, dim), got {self.vectors.shape}")

    @classmethod
    def build(cls, prefixes: Sequence[str] = (), device: str = "cpu", doid: str | Path | None = None) -> CodeIndex:
        """Collect the terms and embed them (progress on stderr)."""
        started = time.perf_counter()
        terms = all_terms(prefixes, doid)
        encoder = TextEncoder(device=device)
        chunks = []
        step = 4096
        # Progress with an estimate of the time left (minutes on a CPU); on a terminal it redraws,
        # in a log it writes a line at most every 10 s.
        with tqdm(
            total=len(terms),
            desc="code index",
            unit="terms",
            file=sys.stderr,
            mininterval=0.5 if sys.stderr.isatty() else 10,
        ) as bar:
            for start in range(0, len(terms), step):
                chunk = terms[start : start + step]
                chunks.append(encoder.encode([t.text for t in chunk]).astype(np.float16))
                bar.update(len(chunk))
        vectors = np.concatenate(chunks) if chunks else np.zeros((0, encoder.dim), np.float16)
        _, doid_header = read_doid(doid)
        manifest = {
            "format": FORMAT,
            "key": index_key(prefixes) if doid is None else None,
            "sources": {
                "icd10cm": {
                    "package": icd_version(),
                    "licence": "public domain (CDC/NCHS)",
                    "scope": "categories and subcategories without a 7th character, external causes (V00-Y99) left out",
                },
                "disease_ontology": {
                    "version": doid_header.get("version"),
                    "licence": doid_header.get("licence"),
                    "source": doid_header.get("source"),
                },
            },
            "encoder": encoder_version(),
            "encoder_widths": list(encoder.widths),
            "encoder_tokens_per_call": encoder.tokens_per_call,
            "prefixes": sorted(prefixes),
            "terms": len(terms),
            "terms_by_source": {s: sum(t.source == s for t in terms) for s in sorted({t.source for t in terms})},
            "codes": len({t.code for t in terms}),
            "build_seconds": round(time.perf_counter() - started, 1),
            "device": str(device),
        }
        return cls(terms, vectors, manifest)

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "terms.tsv", "w", encoding="utf-8") as f:
            f.write("text\tcode\tsource\n")
            for t in self.terms:
                f.write(f"{' '.join(t.text.split())}\t{t.code}\t{t.source}\n")
        np.save(folder / "vectors.npy", self.vectors)
        (folder / "manifest.json").write_text(json.dumps(self.manifest, indent=2) + "\n", encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> CodeIndex:
        folder = Path(folder)
        manifest = check_index(folder)
        lines = (folder / "terms.tsv").read_text(encoding="utf-8").splitlines()[1:]
        terms = [Term(*line.split("\t")) for line in lines]
        return cls(terms, np.load(folder / "vectors.npy"), manifest)


def check_index(folder: str | Path) -> dict:
    """The manifest of an index folder, after checking its files and format.

    Raises:
        FileNotFoundError: a file is missing (the message says how to build an index).
        ValueError: the index has another format.
    """
    folder = Path(folder)
    for name in ("terms.tsv", "vectors.npy", "manifest.json"):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"not a code index (no {name}): {folder}; build one with python -m nercore.cli.build_code_index "
                "--output DIR"
            )
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError(f"expected code index format {FORMAT}, got {manifest.get('format')} in {folder}: rebuild it")
    return manifest


def cached_index(prefixes: Sequence[str] = (), device: str = "cpu", cache: str | Path | None = None) -> Path:
    """The folder of the cached index for this scope, built first if missing.

    Processes on one machine share one build: a file lock serialises them and the index appears
    by an atomic rename, so a reader never sees half an index.
    """
    base = Path(cache) if cache else default_cache()
    base.mkdir(parents=True, exist_ok=True)
    folder = base / index_key(prefixes)
    if (folder / "manifest.json").is_file():
        return folder
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / "manifest.json").is_file():
            return folder
        log.info("building the ICD-10-CM code index into %s (once per machine and version)", folder)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=base))
        try:
            CodeIndex.build(prefixes, device).save(tmp)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def default_index(prefixes: Sequence[str] = ()) -> Path:
    """The index used when none is named: ``$NERCORE_CODE_INDEX`` if set, else the cache's."""
    named = os.environ.get(INDEX_ENV)
    if named:
        check_index(named)
        return Path(named)
    return cached_index(prefixes)
