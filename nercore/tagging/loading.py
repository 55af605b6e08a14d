"""Everything a ``Tagger`` is built from, loaded from a model folder (``Tagger.load`` calls this)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from nercore.codes.linker import DEFAULT_K, CodeLinker
from nercore.context.engine import ContextFinder
from nercore.context.rules import ContextRules
from nercore.sources import ModelVersionError, folder_version, resolve_model_folder
from nercore.tagging.device import choose_device, default_dtype, quantize_linear_int8
from nercore.tagging.model import BertCrf


@dataclass(frozen=True, kw_only=True)
class TaggerParts:
    """A loaded model on its device, its tokenizer, name and version, and the post-processors."""

    model: BertCrf
    tokenizer: PreTrainedTokenizerFast
    device: torch.device
    name: str
    version: str
    context: ContextFinder | None
    linker: CodeLinker | None


def load_parts(
    model: str | Path | None = None,
    device: str | torch.device | None = None,
    *,
    dtype: torch.dtype | None = None,
    quantize: bool = False,
    max_length: int | None = None,
    stride: int | None = None,
    expected_version: str | None = None,
    context: bool | ContextRules = True,
    codes: bool | str | Path = False,
    codes_k: int | None = None,
) -> TaggerParts:
    """Load a saved model folder and what tags with it.

    Args:
        model: local folder, ``gs://``/``s3://`` folder, hub name, or None for the bundled
            default model.
        device: "cpu", "cuda", ... or None to pick CUDA when present.
        dtype: encoder dtype; None picks ``default_dtype(device)``: bfloat16 on CUDA and on
            CPUs with native bfloat16, else float32.
        quantize: dynamic int8 quantisation of the encoder's linear layers (CPU only; faster
            than float32 but about 1-2 F1 points less accurate on held-out devel sets).
        max_length, stride: override the saved window settings (sub-words per window with
            the two special tokens, and sub-words between window starts).
        expected_version: refuse a model folder whose content hash (``version``) differs,
            e.g. a worker checking that it loaded the model its run was launched with.
        context: compute each entity's clinical context (``nercore.context``) with the
            shipped rules (True), the given ``ContextRules``, or not at all (False: the
            context fields stay None).
        codes: rank ICD-10-CM candidate codes for each Disease entity (``nercore.codes``):
            True for the cached index (built on first use: minutes on a CPU), a code index
            folder, or False (the code fields stay empty).
        codes_k: candidates per entity (default ``nercore.codes.linker.DEFAULT_K``).

    Raises:
        FileNotFoundError: the folder or one of its files is missing.
        ModelVersionError: the folder is not ``expected_version``.
        ValueError: a setting is invalid.
    """
    folder = resolve_model_folder(model, expected_version)
    version = folder_version(folder)
    if expected_version and version != expected_version:
        raise ModelVersionError(
            f"model {folder} is version {version}, expected {expected_version} (the version the run was launched with)"
        )
    device = choose_device(device)
    if quantize and device.type != "cpu":
        raise ValueError(f"expected device 'cpu' for int8 quantisation, got {device.type!r}")
    net = BertCrf.load(folder)
    if max_length is not None or stride is not None:
        net.settings = net.settings.with_windows(max_length, stride, net.encoder.config.max_position_embeddings)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if quantize:
        net.encoder = quantize_linear_int8(net.encoder)
    net.to(device)
    if not quantize:
        net.encoder.to(dtype=dtype or default_dtype(device))
        net.classifier.to(dtype=dtype or default_dtype(device))
    net.use_full_masks()  # the same attention kernel for every batch, padded or not
    finder = None if context is False else ContextFinder(None if context is True else context)
    # The mention encoder runs on the tagger's device, in float32 (its vectors are compared with
    # the index's, which were made in float32).
    linker = (
        None if codes is False else CodeLinker.load(None if codes is True else codes, device, k=codes_k or DEFAULT_K)
    )
    return TaggerParts(
        model=net,
        tokenizer=tokenizer,
        device=device,
        name=net.settings.model_name(folder),
        version=version,
        context=finder,
        linker=linker,
    )
