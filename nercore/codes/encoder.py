"""Sentence vectors from the shipped all-MiniLM-L6-v2 encoder (mean pooling, unit length).

A text goes to the narrowest of a few widths (8, 16 or 32 sub-words) that holds it, and every
encoder call for a width has one fixed shape (``tokens_per_call // width`` rows, short batches
filled with empty rows). So a text's vector depends only on the text, never on which other texts
share its batch: on CPUs whose kernels change with the row count (oneDNN/AMX) and on GPUs alike
(see README, "Determinism"). Narrow widths make the index four times cheaper to build than one
width of 32.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from nercore.sources import base_encoder_folder

WIDTHS = (8, 16, 32)  # sub-words with [CLS] and [SEP]: disease names and ICD-10-CM texts are short; longer ones are cut
TOKENS_PER_CALL = 2048


class TextEncoder:
    """Encodes short texts (mentions, code descriptions) into unit-length vectors.

    Args:
        folder: a sentence-transformers style folder (``config.json``, tokenizer, weights); None →
            the shipped all-MiniLM-L6-v2.
        device: where the encoder runs (the tagger's device in the job).
        widths: the padded widths, narrowest first; the last one cuts longer texts.
        tokens_per_call: sub-words per encoder call (rows = tokens_per_call // width).
    """

    def __init__(
        self,
        folder: str | Path | None = None,
        device: str | torch.device = "cpu",
        widths: tuple[int, ...] = WIDTHS,
        tokens_per_call: int = TOKENS_PER_CALL,
    ):
        if not widths or list(widths) != sorted(set(widths)) or widths[0] < 3 or tokens_per_call < widths[-1]:
            raise ValueError(
                f"expected increasing widths >= 3 and tokens_per_call >= the widest, got {widths} and {tokens_per_call}"
            )
        self.folder = Path(folder) if folder is not None else base_encoder_folder()
        self.device = torch.device(device)
        self.widths, self.tokens_per_call = tuple(widths), tokens_per_call
        self.tokenizer = AutoTokenizer.from_pretrained(self.folder)
        self.model = AutoModel.from_pretrained(self.folder).to(self.device).eval()
        self.dim = int(self.model.config.hidden_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text.  # shape: (len(texts), dim)"""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenizer(list(texts), truncation=True, max_length=self.widths[-1])["input_ids"]
        lengths = np.array([len(x) for x in ids])
        bucket = np.searchsorted(np.array(self.widths), lengths)  # the narrowest width that holds each text
        for b, width in enumerate(self.widths):
            members = np.flatnonzero(bucket == b)
            rows = self.tokens_per_call // width
            for start in range(0, len(members), rows):
                chunk = members[start : start + rows]
                batch_ids = np.zeros((rows, width), dtype=np.int64)
                batch_mask = np.zeros((rows, width), dtype=np.int64)
                for r, i in enumerate(chunk):
                    batch_ids[r, : lengths[i]] = ids[i]
                    batch_mask[r, : lengths[i]] = 1
                batch_mask[len(chunk) :, 0] = 1  # filler rows: one real position, so no row is all padding
                out[chunk] = self._forward(batch_ids, batch_mask)[: len(chunk)]
        return out

    @torch.inference_mode()
    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        ids_t = torch.from_numpy(ids).to(self.device)  # shape: (rows, width)
        mask_t = torch.from_numpy(mask).to(self.device)  # shape: (rows, width)
        hidden = self.model(
            input_ids=ids_t, attention_mask=mask_t
        ).last_hidden_state.float()  # shape: (rows, width, dim)
        weights = mask_t.unsqueeze(-1).float()
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)  # shape: (rows, dim)
        return torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy()
