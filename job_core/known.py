"""The notes an incremental night need not tag: what the warehouse already holds, as hashes only.

Each known note (tagged last time with the model of this run) is one 64-bit key of its id and
content hash (``note_key``), kept as a sorted numpy array: 8 bytes a note, so 10 million known
notes are 80 MB in each worker process, never a Python dict of ids, and a batch's rows are looked
up at once (``searchsorted``). The launcher writes the array to the run's staging folder before
the pipeline starts (``save``); each worker process reads it once (``KnownNotesFile``).
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from job_core import files

KNOWN_FILE = "_known.npy"
_loaded: dict[str, KnownNotes] = {}
_lock = threading.Lock()


def note_key(note_id: str, content_hash: str) -> int:
    """One note's key: the first 8 bytes of the SHA-256 of its id and content hash."""
    digest = hashlib.sha256(f"{note_id}\x1f{content_hash}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "little")


class KnownNotes:
    """A set of note keys with a vectorised membership test."""

    def __init__(self, keys: np.ndarray):
        if keys.dtype != np.uint64 or keys.ndim != 1:
            raise ValueError(f"expected a 1-d uint64 array of note keys, got {keys.dtype} with shape {keys.shape}")
        self.keys = np.unique(keys)  # sorted, for searchsorted

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> KnownNotes:
        return cls(np.fromiter((note_key(i, h) for i, h in pairs), dtype=np.uint64))

    def __len__(self) -> int:
        return len(self.keys)

    def contains(self, keys: Sequence[int]) -> np.ndarray:
        """A boolean per key: is it known?"""
        # shape: (n,) uint64 → (n,) bool
        wanted = np.asarray(keys, dtype=np.uint64)
        if not len(self.keys):
            return np.zeros(len(wanted), dtype=bool)
        at = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        return self.keys[at] == wanted

    def save(self, path: str) -> None:
        buffer = io.BytesIO()
        np.save(buffer, self.keys, allow_pickle=False)
        files.write_bytes(path, buffer.getvalue())


@dataclass(frozen=True)
class KnownNotesFile:
    """A picklable reference to a saved ``KnownNotes``; ``get`` loads it once per process."""

    path: str

    def get(self) -> KnownNotes:
        with _lock:
            if self.path not in _loaded:
                keys = np.load(io.BytesIO(files.read_bytes(self.path)), allow_pickle=False)
                _loaded[self.path] = KnownNotes(keys)
            return _loaded[self.path]
