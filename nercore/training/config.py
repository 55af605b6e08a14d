"""``TrainConfig``: every training setting, typed and checked once at the edge."""

from __future__ import annotations

from dataclasses import dataclass

from nercore.corpora.annotations import SpanPolicy
from nercore.corpora.formats import FORMATS, ReadOptions


@dataclass
class TrainConfig:
    """Settings of one training run (``nercore.cli.train`` builds it from the command line).

    Raises:
        ValueError: on construction, when a setting is out of range.
    """

    train: list[str]
    dev: list[str]
    base_model: str
    output: str
    epochs: int = 8
    lr: float = 1e-4
    head_lr: float = 1e-3
    crf_lr: float = 5e-3
    layer_decay: float = 1.0
    weight_decay: float = 0.01
    warmup: float = 0.1
    batch_size: int = 32
    max_length: int = 128
    stride: int = 112
    dropout: float = 0.1
    seed: int = 13
    device: str | None = None
    max_steps: int = 0
    half: bool = False
    name: str = ""
    select: str = "best"
    pack: bool = False
    format: str = "auto"
    types: list[str] | None = None
    on_misaligned: str = "snap"
    discontinuous: str = "first"
    strict: bool = False
    text_field: str = "text"
    offsets: str = "auto"

    def __post_init__(self) -> None:
        if self.format not in (*FORMATS, "auto"):
            raise ValueError(f"expected --format one of {', '.join(FORMATS)} or auto, got {self.format!r}")
        if self.on_misaligned == "keep":
            raise ValueError(
                "expected --on-misaligned snap, skip or error for training (a span must cover whole words), got 'keep'"
            )
        SpanPolicy(on_misaligned=self.on_misaligned, discontinuous=self.discontinuous)  # validates both
        ReadOptions(self.text_field, self.offsets)
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"expected --{name.replace('_', '-')} >= 1, got {getattr(self, name)}")
        for name in ("lr", "head_lr", "crf_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"expected --{name.replace('_', '-')} > 0, got {getattr(self, name)}")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"expected 0 <= --warmup < 1, got {self.warmup}")
        if not 0 < self.layer_decay <= 1:
            raise ValueError(f"expected 0 < --layer-decay <= 1, got {self.layer_decay}")
        if self.max_length < 16:
            raise ValueError(f"expected --max-length >= 16, got {self.max_length}")
        if not 1 <= self.stride <= self.max_length - 2:
            raise ValueError(f"expected 1 <= --stride <= max-length - 2, got {self.stride}")
        if self.select not in ("best", "last"):
            raise ValueError(f"expected --select best or last, got {self.select!r}")

    def read_options(self) -> ReadOptions:
        return ReadOptions(self.text_field, self.offsets)

    def policies(self, types: list[str]) -> tuple[SpanPolicy, SpanPolicy]:
        """The span policies of the training files and of the dev files.

        Dev gold is scored as annotated: misaligned and overlapping spans are counted, not changed.
        """
        train = SpanPolicy(tuple(types), self.on_misaligned, self.discontinuous, "longest", self.strict)
        dev_misaligned = "error" if self.on_misaligned == "error" else "keep"
        dev = SpanPolicy(tuple(types), dev_misaligned, self.discontinuous, "keep", self.strict)
        return train, dev
