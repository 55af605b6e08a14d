"""Files on any store the job reads or writes: local folders, ``gs://``, ``s3://`` (pyarrow.fs).

Both engines and the launcher go through these few functions, so no engine's file API is part of
the job's core. Paths keep the form the user gave (a relative local path stays relative; a
``gs://`` path keeps its scheme), because input paths end up in the rejects table.

Glob patterns follow Beam's rules, which the job used before: ``*`` and ``?`` match within one
folder level, ``**`` across levels, and only files match (never folders).
"""

from __future__ import annotations

import functools
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

import pyarrow.fs as pafs

WILDCARDS = re.compile(r"[*?\[]")


def is_local(path: str) -> bool:
    return "://" not in path


@functools.lru_cache(maxsize=16)
def _store(scheme: str, bucket: str) -> pafs.FileSystem:
    """The pyarrow file system of one bucket (one per process: S3 resolves its region once)."""
    return pafs.FileSystem.from_uri(f"{scheme}://{bucket}")[0]


def _split(path: str) -> tuple[pafs.FileSystem, str, str]:
    """(file system, its path, the prefix that turns its paths back into ours)."""
    if is_local(path):
        return pafs.LocalFileSystem(), path, ""
    scheme, rest = path.split("://", 1)
    if scheme == "gcs":
        scheme = "gs"
    bucket = rest.split("/", 1)[0]
    return _store(scheme, bucket), rest, f"{path.split('://', 1)[0]}://"


def exists(path: str) -> bool:
    store, inner, _ = _split(path)
    return store.get_file_info(inner).type != pafs.FileType.NotFound


def open_input(path: str):
    """A seekable binary file (what ``pyarrow.parquet.ParquetFile`` reads)."""
    store, inner, _ = _split(path)
    return store.open_input_file(inner)


def create(path: str):
    """A binary output stream; local parent folders are created."""
    store, inner, _ = _split(path)
    if is_local(path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return store.open_output_stream(inner)


def read_bytes(path: str) -> bytes:
    with open_input(path) as handle:
        return handle.read()


def write_bytes(path: str, data: bytes) -> None:
    with create(path) as handle:
        handle.write(data)


def _pattern_regex(pattern: str) -> re.Pattern:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            out.append("[" + pattern[i + 1 : end].replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def match(pattern: str) -> list[str]:
    """The files a path or glob matches, sorted (none: an empty list)."""
    store, inner, prefix = _split(pattern)
    wildcard = WILDCARDS.search(inner)
    if wildcard is None:
        info = store.get_file_info(inner)
        return [pattern] if info.type == pafs.FileType.File else []
    base = inner[: wildcard.start()].rsplit("/", 1)[0] if "/" in inner[: wildcard.start()] else ""
    if not base and inner.startswith("/"):
        base = "/"
    regex = _pattern_regex(inner)
    recursive = "**" in inner or "/" in inner[len(base) + 1 :]
    try:
        infos = store.get_file_info(pafs.FileSelector(base or ".", recursive=recursive, allow_not_found=True))
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for info in infos:
        if info.type != pafs.FileType.File:
            continue
        path = info.path
        if not base and is_local(pattern) and path.startswith("./") and not inner.startswith("./"):
            path = path[2:]
        if regex.match(path):
            found.append(prefix + path)
    return sorted(found)


def list_files(folder: str) -> list[str]:
    """The files directly in ``folder``, sorted."""
    return match(f"{folder.rstrip('/')}/*")


def delete(paths: Iterable[str]) -> None:
    """Delete files; an absent one is fine."""
    for path in paths:
        store, inner, _ = _split(path)
        try:
            store.delete_file(inner)
        except FileNotFoundError:
            continue


def delete_tree(folder: str) -> None:
    """Delete a folder and everything in it (a prefix, on an object store); absent is fine."""
    if is_local(folder):
        shutil.rmtree(folder, ignore_errors=True)
        return
    delete(match(f"{folder.rstrip('/')}/**"))


def rename(sources: Iterable[str], destinations: Iterable[str]) -> None:
    """Move files (a copy and a delete on object stores; a rename on local folders)."""
    for source, destination in zip(sources, destinations, strict=True):
        store, inner, _ = _split(source)
        _, target, _ = _split(destination)
        if is_local(destination):
            Path(destination).parent.mkdir(parents=True, exist_ok=True)
        store.move(inner, target)
