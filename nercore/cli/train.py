"""Fine-tune a BERT-CRF tagger on labelled files in any supported format.

``python -m nercore.cli.train --train FILE [--train FILE ...] --dev FILE [--dev FILE ...]
--base-model PATH_OR_NAME --output DIR [--format F] [--epochs --lr --batch-size --max-length --seed ...]``
(also installed as ``nercore-train``; the training itself is ``nercore.training``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from nercore.cli.options import add_annotation_options
from nercore.corpora.documents import DataError
from nercore.training.config import TrainConfig
from nercore.training.trainer import train

NUMERIC_OPTIONS = [
    ("epochs", int, "passes over the training data"),
    ("lr", float, "encoder learning rate (top layer)"),
    ("head_lr", float, "linear layer learning rate"),
    ("crf_lr", float, "CRF learning rate"),
    ("layer_decay", float, "layer-wise learning-rate decay per encoder layer downwards (1 = none)"),
    ("weight_decay", float, "AdamW weight decay"),
    ("warmup", float, "fraction of steps for linear warm-up"),
    ("batch_size", int, "sentences per batch"),
    ("max_length", int, "sub-words per sequence, special tokens included"),
    ("stride", int, "sub-words between window starts at inference"),
    ("dropout", float, "dropout before the linear layer"),
    ("seed", int, "random seed"),
    ("max_steps", int, "stop after this many steps (0 = no limit)"),
]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nercore-train", description=__doc__.splitlines()[0])
    p.add_argument("--train", action="append", required=True, help="training file (or BRAT folder); repeat for several")
    p.add_argument("--dev", action="append", required=True, help="dev file (or BRAT folder); repeat for several")
    p.add_argument(
        "--base-model",
        required=True,
        help="encoder folder, gs:// or s3:// folder, hub name, or 'minilm' (the pinned bundled base)",
    )
    p.add_argument("--output", required=True, help="folder to write the best model into")
    defaults = TrainConfig([], [], "", "")
    for name, kind, help_text in NUMERIC_OPTIONS:
        p.add_argument(
            f"--{name.replace('_', '-')}",
            type=kind,
            default=getattr(defaults, name),
            help=f"{help_text} (default: %(default)s)",
        )
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when present)")
    p.add_argument("--half", action="store_true", help="store encoder weights in float16")
    p.add_argument("--name", default="", help="model name recorded in the card")
    p.add_argument(
        "--pack",
        action="store_true",
        help="join consecutive sentences into texts of up to --max-length sub-words (random lengths), "
        "so the model learns long context",
    )
    add_annotation_options(p, training=True)
    p.add_argument(
        "--select",
        choices=("best", "last"),
        default="best",
        help="keep the epoch with the best mean dev F1, or the last one (for a final run whose dev data is in --train)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = TrainConfig(**vars(args))
        result = train(config)
    except (DataError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps({k: result[k] for k in ("best_epoch", "best_dev_mean_f1", "minutes", "device")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
