"""The BERT-CRF module and its on-disk folder format.

A model folder is one that transformers can read for the encoder, plus our head:

- ``config.json``, ``model.safetensors``: the encoder (``AutoModel``), with the label map in
  ``id2label``/``label2id``;
- tokenizer files (``tokenizer.json``, ``vocab.txt``, ...);
- ``head.safetensors``: the linear layer and the CRF's start/end/transition scores;
- ``nercore.json``: labels, tag format and tagging settings (``TaggerSettings``).

Only safetensors are read: nothing is unpickled.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torchcrf import CRF
from transformers import AutoConfig, AutoModel, PretrainedConfig

from nercore.labels import LabelSet
from nercore.tagging.crf import constrain

FORMAT_VERSION = 1
SETTINGS_FILE = "nercore.json"
HEAD_FILE = "head.safetensors"
ENCODER_FILE = "model.safetensors"
REQUIRED_FILES = ("config.json", ENCODER_FILE, HEAD_FILE, SETTINGS_FILE)


@dataclass
class TaggerSettings:
    """What a saved model needs besides its weights to tag exactly as it was trained to.

    Attributes:
        labels: BIO labels in id order.
        tag_format: always "BIO" for predictions.
        max_length: encoder sequence length, special tokens included.
        stride: sub-words between the starts of consecutive windows.
        base_model: the checkpoint the encoder was fine-tuned from.
        dropout: dropout before the linear layer (training only).
        training: free-form record of the training run (settings, data, scores).
    """

    labels: list[str]
    tag_format: str = "BIO"
    max_length: int = 128
    stride: int = 112
    base_model: str = ""
    dropout: float = 0.1
    training: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        LabelSet.from_labels(self.labels)
        if self.tag_format != "BIO":
            raise ValueError(f"expected tag_format 'BIO', got {self.tag_format!r}")
        if self.max_length < 3:
            raise ValueError(f"expected max_length >= 3, got {self.max_length}")
        if not 1 <= self.stride <= self.max_length - 2:
            raise ValueError(f"expected 1 <= stride <= max_length - 2, got {self.stride}")

    def model_name(self, folder: Path) -> str:
        """The name recorded at training time, else the folder's name."""
        return self.training.get("name") or folder.name

    @property
    def window(self) -> int:
        """Sub-words per window, the two special tokens left out."""
        return self.max_length - 2

    def with_windows(self, max_length: int | None, stride: int | None, limit: int) -> TaggerSettings:
        """These settings with other window settings (None keeps the saved one; a stride that
        no longer fits the new length is cut to it).

        Raises:
            ValueError: ``max_length`` exceeds ``limit``, the encoder's positions.
        """
        if max_length is not None and max_length > limit:
            raise ValueError(f"expected max_length <= {limit} (the encoder's positions), got {max_length}")
        length = max_length or self.max_length
        return replace(self, max_length=length, stride=stride or min(self.stride, length - 2))


class BertCrf(nn.Module):
    """Encoder → dropout → linear → CRF over the first sub-word of each word."""

    def __init__(self, encoder: nn.Module, settings: TaggerSettings):
        super().__init__()
        self.full_masks = False  # see use_full_masks
        self.settings = settings
        self.label_set = LabelSet.from_labels(settings.labels)
        self.encoder = encoder
        self.dropout = nn.Dropout(settings.dropout)
        self.classifier = nn.Linear(encoder.config.hidden_size, len(self.label_set))
        self.crf = CRF(len(self.label_set), batch_first=True)
        self.register_buffer(
            "allowed_transitions", torch.tensor(self.label_set.allowed_transitions()), persistent=False
        )
        self.register_buffer("allowed_starts", torch.tensor(self.label_set.allowed_starts()), persistent=False)

    @classmethod
    def from_encoder(cls, encoder_path: str, settings: TaggerSettings) -> BertCrf:
        """A fresh head over a pretrained encoder (for training)."""
        config = AutoConfig.from_pretrained(encoder_path)
        _set_label_map(config, settings.labels)
        encoder = AutoModel.from_pretrained(encoder_path, config=config, add_pooling_layer=False)
        return cls(encoder, settings)

    def word_emissions(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, word_positions: torch.Tensor
    ) -> torch.Tensor:
        """Label scores of each word, read at its first sub-word.

        Args:
            input_ids, attention_mask: shape (batch, seq).
            word_positions: shape (batch, words); positions into seq (0 where padded), each in
                [0, seq): the states are read from the flattened batch, so a position past seq
                would read the next row's.

        Returns:
            shape (batch, words, labels).
        """
        hidden = self.encoder(input_ids=input_ids, attention_mask=self.encoder_mask(attention_mask)).last_hidden_state
        rows, seq, width = hidden.shape
        # Rows of the flattened states, copied whole: the same values as ``gather`` along dim 1
        # with an expanded index, several times faster (gather walks the index element by element).
        index = (word_positions + torch.arange(rows, device=word_positions.device).unsqueeze(1) * seq).reshape(-1)
        words = hidden.reshape(rows * seq, width).index_select(0, index)  # shape: (batch * words, hidden)
        return self.classifier(self.dropout(words.view(*word_positions.shape, width)))

    def encoder_mask(self, attention_mask: torch.Tensor) -> torch.Tensor:
        """The mask handed to the encoder: the 2D padding mask, or with ``full_masks`` the 4D
        boolean mask that transformers builds from it for SDPA, shape (batch, 1, seq, seq)."""
        if not self.full_masks:
            return attention_mask
        rows, width = attention_mask.shape
        return attention_mask.bool()[:, None, None, :].expand(rows, 1, width, width)

    @torch.inference_mode()
    def use_full_masks(self) -> bool:
        """Hand the encoder a materialised mask on every call, where that gives the same bits.

        Why: transformers drops the mask of a batch without any padding so that SDPA may pick its
        flash kernel. On a GPU a window would then get other bits in an unpadded batch (flash)
        than in a padded one (memory-efficient kernel), and the check for padding
        (``mask.all()``) makes the host wait for the GPU at every call. With the mask always
        given, every batch of a width runs the same kernel and nothing waits. Only for SDPA
        attention, and only if a probe batch with padding gives bit-identical hidden states both
        ways; otherwise the 2D mask stays. Call it after moving the model to its device and dtype.

        Returns:
            Whether full masks are now used.
        """
        self.full_masks = False
        if getattr(self.encoder.config, "_attn_implementation", None) != "sdpa":
            return False
        device = next(self.encoder.parameters()).device
        ids = (torch.arange(24, device=device).reshape(3, 8) * 7 + 5) % self.encoder.config.vocab_size
        mask = torch.ones_like(ids)
        mask[1, 5:] = 0
        mask[2, 2:] = 0
        expected = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        self.full_masks = True
        try:
            got = self.encoder(input_ids=ids, attention_mask=self.encoder_mask(mask)).last_hidden_state
        except (ValueError, RuntimeError, TypeError, IndexError):  # an encoder that takes 2D masks only
            got = None
        self.full_masks = got is not None and got.shape == expected.shape and torch.equal(got, expected)
        return self.full_masks

    def loss(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        word_positions: torch.Tensor,
        word_mask: torch.Tensor,
        tags: torch.Tensor,
    ) -> torch.Tensor:
        """Mean negative log-likelihood of the gold tags (pytorch-crf)."""
        emissions = self.word_emissions(input_ids, attention_mask, word_positions)
        return -self.crf(emissions.float(), tags, mask=word_mask, reduction="mean")

    def crf_scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """CRF start, end and transition scores with invalid BIO moves forbidden."""
        return constrain(
            self.crf.start_transitions.float(),
            self.crf.end_transitions.float(),
            self.crf.transitions.float(),
            self.allowed_starts,
            self.allowed_transitions,
        )

    def save(self, folder: str | Path, tokenizer=None, half: bool = False) -> None:
        """Write the model folder (see the module docstring)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        _set_label_map(self.encoder.config, self.settings.labels)
        encoder_state = {k: v.detach().contiguous() for k, v in self.encoder.state_dict().items()}
        if half:
            encoder_state = {k: v.half() if v.is_floating_point() else v for k, v in encoder_state.items()}
        self.encoder.config.save_pretrained(folder)
        save_file(encoder_state, str(folder / ENCODER_FILE), metadata={"format": "pt"})
        head = {
            "classifier.weight": self.classifier.weight,
            "classifier.bias": self.classifier.bias,
            "crf.start_transitions": self.crf.start_transitions,
            "crf.end_transitions": self.crf.end_transitions,
            "crf.transitions": self.crf.transitions,
        }
        save_file({k: v.detach().float().contiguous() for k, v in head.items()}, str(folder / HEAD_FILE))
        (folder / SETTINGS_FILE).write_text(json.dumps(asdict(self.settings), indent=2, sort_keys=True) + "\n")
        if tokenizer is not None:
            tokenizer.save_pretrained(folder)

    @classmethod
    def load(cls, folder: str | Path) -> BertCrf:
        """Read a model folder written by ``save`` (float32, eval mode, on the CPU)."""
        folder = Path(folder)
        settings = read_settings(folder)
        config = AutoConfig.from_pretrained(folder)
        encoder = AutoModel.from_config(config, add_pooling_layer=False)
        model = cls(encoder, settings)
        state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(folder / ENCODER_FILE)).items()}
        missing, _unexpected = encoder.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith("pooler.")]
        if missing:
            raise ValueError(
                f"expected encoder weights for every layer, got {len(missing)} missing in {folder / ENCODER_FILE}"
            )
        head = load_file(str(folder / HEAD_FILE))
        model.classifier.weight.data.copy_(head["classifier.weight"])
        model.classifier.bias.data.copy_(head["classifier.bias"])
        model.crf.start_transitions.data.copy_(head["crf.start_transitions"])
        model.crf.end_transitions.data.copy_(head["crf.end_transitions"])
        model.crf.transitions.data.copy_(head["crf.transitions"])
        return model.eval()


def read_settings(folder: str | Path) -> TaggerSettings:
    """A model folder's ``TaggerSettings`` (checks the folder and the format version first)."""
    folder = Path(folder)
    check_model_folder(folder)
    raw = json.loads((folder / SETTINGS_FILE).read_text())
    if raw.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"expected model format_version {FORMAT_VERSION}, got {raw.get('format_version')!r} in {folder}"
        )
    return TaggerSettings(**raw)


def check_model_folder(folder: Path) -> None:
    """Raise ``FileNotFoundError`` naming what a model folder lacks."""
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder not found: {folder}")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if not any((folder / name).is_file() for name in ("tokenizer.json", "vocab.txt")):
        missing.append("tokenizer.json")
    if missing:
        raise FileNotFoundError(f"model folder {folder} is incomplete: missing {', '.join(missing)}")


def _set_label_map(config: PretrainedConfig, labels: list[str]) -> None:
    config.id2label = dict(enumerate(labels))
    config.label2id = {label: i for i, label in enumerate(labels)}
