"""The model card: a README.md with data, settings and dev scores per type and per epoch."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from nercore.evaluation.metrics import Evaluation
from nercore.labels import LabelSet
from nercore.training.config import TrainConfig


def write_model_card(folder: Path, config: TrainConfig, result: dict, label_set: LabelSet, base_record: str) -> None:
    """Write ``folder/README.md`` from a training result (``nercore.training.trainer.train``)."""
    best = next(h for h in result["history"] if h["epoch"] == result["best_epoch"])
    minutes = f"{result['minutes']:.1f} minutes on {result['device']}"
    lines = [
        f"# {config.name or folder.name}",
        "",
        "A BERT-CRF entity tagger trained with `nercore.cli.train`.",
        "",
        f"- Base encoder: {base_record}",
        f"- Entity types: {', '.join(label_set.entity_types)} (BIO tags, CRF over first sub-words)",
        f"- Training files: {', '.join(config.train)}",
        f"- Dev files (model selection): {', '.join(config.dev)}",
        f"- Kept epoch: {result['best_epoch']} of {config.epochs} (selection: {config.select}); {minutes}",
        "",
        "## Settings",
        "",
        "```json",
        json.dumps(asdict(config), indent=2, sort_keys=True),
        "```",
        "",
        "## Dev scores of the kept epoch (strict, entity level)",
        "",
        *contamination_note(config),
    ]
    for path, scores in best["dev"].items():
        lines += [f"### {path}", "", "| type | precision | recall | F1 | support |", "| --- | --- | --- | --- | --- |"]
        for t, s in Evaluation.from_dict(scores).rows():
            lines.append(f"| {t} | {s.precision:.4f} | {s.recall:.4f} | {s.f1:.4f} | {s.support} |")
        lines.append("")
    lines += [
        "## Data as read (spans kept, and what could not be represented)",
        "",
        "| file | documents | spans | kept | changed or left out |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in result.get("data", []):
        extra = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("file", "documents", "spans", "kept") and v)
        lines.append(f"| {r['file']} | {r['documents']} | {r['spans']} | {r['kept']} | {extra or 'none'} |")
    lines += ["", "## Per epoch", "", "| epoch | loss | mean dev F1 | minutes |", "| --- | --- | --- | --- |"]
    lines += [
        f"| {h['epoch']} | {h['loss']:.4f} | {h['dev_mean_f1']:.4f} | {h['minutes']:.1f} |" for h in result["history"]
    ]
    (folder / "README.md").write_text("\n".join(lines) + "\n")


def contamination_note(config: TrainConfig) -> list[str]:
    """A warning for the model card when a dev file is also a training file."""
    shared = sorted(set(config.dev) & set(config.train))
    if not shared:
        return []
    return [
        f"**These dev files are also training data ({', '.join(shared)}): the scores below measure fit, "
        "not generalisation. Use held-out scores of the same recipe instead.**",
        "",
    ]
