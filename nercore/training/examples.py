"""Training examples: gold documents cut into the tagger's own windows, and their batches."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from nercore.corpora.documents import Document, Sentence
from nercore.labels import LabelSet, to_bio
from nercore.tagging.preprocess import EncodedText, encode_texts, window_bounds

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast


@dataclass(frozen=True)
class Example:
    """One window of a gold document, as the encoder sees it."""

    input_ids: np.ndarray  # shape: (sub-words + 2,), with special tokens
    word_positions: np.ndarray  # shape: (words,), each word's first sub-word in input_ids
    label_ids: np.ndarray  # shape: (words,)


def word_labels(encoded: EncodedText, spans, label_set: LabelSet) -> np.ndarray:
    """Label ids of a text's words from gold character spans that cover whole words.

    A span labels the words lying inside it: ``B-`` the first, ``I-`` the rest.
    """
    labels = np.full(encoded.num_words, label_set.labels.index("O"), dtype=np.int64)
    for kind, start, end in spans:
        first = int(np.searchsorted(encoded.word_start_char, start, side="left"))
        stop = int(np.searchsorted(encoded.word_end_char, end, side="right"))
        if first < stop:
            labels[first] = label_set.labels.index(f"B-{kind}")
            labels[first + 1 : stop] = label_set.labels.index(f"I-{kind}")
    return labels


def document_examples(
    docs: Sequence[Document], tokenizer: PreTrainedTokenizerFast, label_set: LabelSet, window: int, stride: int
) -> list[Example]:
    """Training examples of gold documents: each tokenised as ``Tagger`` tokenises text and cut
    into the tagger's windows (``window_bounds``); a window labels the words it holds."""
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    examples = []
    for doc, encoded in zip(docs, encode_texts(tokenizer, [d.text for d in docs]) if docs else []):
        if encoded.num_words == 0:
            continue
        labels = word_labels(encoded, doc.spans, label_set)
        for lo, hi in window_bounds(encoded, window, stride):
            words = np.flatnonzero((encoded.word_first_token >= lo) & (encoded.word_first_token < hi))
            if words.size == 0:
                continue
            ids = np.concatenate([[cls_id], encoded.input_ids[lo:hi], [sep_id]])
            examples.append(Example(ids, encoded.word_first_token[words] - lo + 1, labels[words]))
    return examples


def pack_sentences(
    sentences: Sequence[Sentence], tokenizer: PreTrainedTokenizerFast, window: int, rng: random.Random
) -> list[Sentence]:
    """Join runs of consecutive sentences into longer training texts.

    Each packed text takes sentences in file order while they fit a budget drawn uniformly from
    1..``window`` sub-words (a longer sentence stays alone), so training sees single sentences
    as well as windows full of context, as inference does on long notes. Tags are made BIO per
    sentence first, so no entity runs across a sentence boundary.
    """
    texts = [s.text_and_spans()[0] for s in sentences]
    counts = [e.num_tokens for e in encode_texts(tokenizer, texts)] if sentences else []
    packed = []
    i = 0
    while i < len(sentences):
        budget, used, j = rng.randint(1, window), counts[i], i + 1
        while j < len(sentences) and used + counts[j] <= budget:
            used += counts[j]
            j += 1
        run = sentences[i:j]
        packed.append(Sentence(tuple(t for s in run for t in s.tokens), tuple(t for s in run for t in to_bio(s.tags))))
        i = j
    return packed


def collate(examples: Sequence[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """One padded batch: sub-word ids, attention mask, word positions, word mask and gold tags."""
    width = max(len(e.input_ids) for e in examples)
    n_words = max(len(e.label_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)  # shape: (batch, width)
    attention = torch.zeros((len(examples), width), dtype=torch.long)
    positions = torch.zeros((len(examples), n_words), dtype=torch.long)  # shape: (batch, words)
    word_mask = torch.zeros((len(examples), n_words), dtype=torch.bool)
    tags = torch.zeros((len(examples), n_words), dtype=torch.long)
    for i, e in enumerate(examples):
        ids[i, : len(e.input_ids)] = torch.from_numpy(e.input_ids)
        attention[i, : len(e.input_ids)] = 1
        positions[i, : len(e.word_positions)] = torch.from_numpy(e.word_positions)
        word_mask[i, : len(e.label_ids)] = True
        tags[i, : len(e.label_ids)] = torch.from_numpy(e.label_ids)
    return {
        "input_ids": ids,
        "attention_mask": attention,
        "word_positions": positions,
        "word_mask": word_mask,
        "tags": tags,
    }


def length_batches(examples: Sequence[Example], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length (sorted within pools of 50 batches) to cut padding."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lambda j: len(examples[j].input_ids))
        batches.extend(chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches
