"""The optimiser's parameter groups and the run's seeds."""

from __future__ import annotations

import random

import numpy as np
import torch

from nercore.tagging.model import BertCrf
from nercore.training.config import TrainConfig


def parameter_groups(model: BertCrf, config: TrainConfig) -> list[dict]:
    """Encoder (with optional layer-wise decay), linear head and CRF each at their own rate."""
    layers = getattr(getattr(model.encoder, "encoder", None), "layer", [])
    depth = len(layers)
    groups: dict[tuple[float, bool], list] = {}
    for name, param in model.encoder.named_parameters():
        level = depth  # top
        if name.startswith("embeddings."):
            level = 0
        elif ".layer." in f".{name}":
            level = int(name.split("layer.")[1].split(".")[0]) + 1
        lr = config.lr * config.layer_decay ** (depth - level) if depth else config.lr
        no_decay = param.ndim == 1
        groups.setdefault((lr, no_decay), []).append(param)
    out = [
        {"params": p, "lr": lr, "weight_decay": 0.0 if nd else config.weight_decay} for (lr, nd), p in groups.items()
    ]
    out.append({"params": list(model.classifier.parameters()), "lr": config.head_lr, "weight_decay": 0.0})
    out.append({"params": list(model.crf.parameters()), "lr": config.crf_lr, "weight_decay": 0.0})
    return out


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
