"""The labelled files of a training run, read and resolved into gold documents."""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nercore.corpora.annotations import AnnotatedDocument, AnnotationReport, SpanPolicy, resolve
from nercore.corpora.documents import Document, read_conll
from nercore.corpora.formats import detect_format, read_annotated
from nercore.corpora.formats.flat import sentence_documents
from nercore.training.config import TrainConfig
from nercore.training.examples import pack_sentences

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

Files = dict[str, tuple[list[AnnotatedDocument], Counter]]


def read_files(
    paths: Sequence[str], config: TrainConfig, tokenizer: PreTrainedTokenizerFast, rng: random.Random | None = None
) -> Files:
    """Each file's annotated documents and reader counts; CoNLL sentences packed when ``rng`` is given."""
    options = config.read_options()
    out = {}
    for path in paths:
        fmt = detect_format(path) if config.format == "auto" else config.format
        if fmt == "conll" and rng is not None:
            packed = pack_sentences(read_conll(path), tokenizer, config.max_length - 2, rng)
            out[path] = (sentence_documents(packed, "text"), Counter())
        else:
            out[path] = read_annotated(path, fmt, options)
    return out


def gold_documents(
    files: Files, policy: SpanPolicy, tokenizer: PreTrainedTokenizerFast
) -> tuple[dict[str, list[Document]], list[AnnotationReport]]:
    """Each file's gold documents under ``policy``, and its report, printed on stderr."""
    docs, reports = {}, []
    for path, (annotated, counts) in files.items():
        docs[path], report = resolve(annotated, policy, path, tokenizer, counts)
        reports.append(report)
        print(f"data: {report.line()}", file=sys.stderr, flush=True)
    return docs, reports


def label_types(config: TrainConfig, files: Files) -> list[str]:
    """The entity types to train: ``--types``, else every label of the training files."""
    return sorted(config.types or {a.label for docs, _ in files.values() for d in docs for a in d.annotations})
