"""Where and in which precision the encoder runs: device choice, bfloat16 support, int8."""

from __future__ import annotations

import torch
from torch.ao.quantization import quantize_dynamic

# Padded sub-words per encoder call (rows × width), by device type. Every call for a width has
# the same shape (see ``nercore.tagging.batching``), so a short last batch costs up to this much
# padding: on the CPU 2,048 is as fast as larger batches and keeps a lone note cheap; a GPU
# needs more rows.
DEFAULT_BATCH_TOKENS = {"cpu": 2048, "cuda": 16384}


def native_bf16(device: torch.device) -> bool:
    """Does this device run bfloat16 matrix products natively (CUDA, or a CPU with AVX512-BF16/AMX)?"""
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    names = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    checks = [getattr(torch.cpu, name, None) for name in names]
    try:
        return any(check() for check in checks if check is not None)
    except RuntimeError:
        return False


def default_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 where the device runs it natively (``native_bf16``), else float32.

    On a CPU with AVX512-BF16 or AMX, bfloat16 is about 2.5x faster than float32 at the same
    devel F1 (within 0.05 point, ``bench.precision``), and thanks to fixed window widths its
    output does not depend on batch composition either. Entities can differ from a float32 run
    in a few places, so a job's dtype is part of what makes its output reproducible: pass
    ``dtype=torch.float32`` to get the float32 results on any CPU.
    """
    return torch.bfloat16 if native_bf16(device) else torch.float32


def default_batch_tokens(device: torch.device) -> int:
    """Padded sub-words per encoder call when none is given: 2,048 on the CPU, 16,384 on a GPU."""
    return DEFAULT_BATCH_TOKENS.get(device.type, DEFAULT_BATCH_TOKENS["cpu"])


def choose_device(device: str | torch.device | None) -> torch.device:
    """The given device, or CUDA when available, else CPU.

    Raises:
        ValueError: the name is not a device, or CUDA is asked for and absent.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"expected a device such as 'cpu' or 'cuda', got {device!r}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("expected a CUDA device to be available for device='cuda', got none")
    return resolved


def encoder_precision(encoder: torch.nn.Module) -> str:
    """ "int8" for a dynamically quantised encoder, else the dtype of its weights ("float32", ...)."""
    if any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in encoder.modules()):
        return "int8"
    return str(next(encoder.parameters()).dtype).removeprefix("torch.")


def quantize_linear_int8(module: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantisation of the Linear layers (CPU inference)."""
    return quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)
