"""Throughput and memory benchmarks; prints a table and appends it to BENCHMARKS.md.

``python -m bench.throughput --device cpu [--notes 200] [--hf] [--quantize] [--beam] [--scaling]``
``python -m bench.throughput --device cuda --config bert-base --scaling``

Every measurement runs in a fresh process (spawn), so peak RSS is that measurement's own.
Words are whitespace-separated words of the input; tokens are sub-words (special tokens excluded).
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import heading, publish

REPO = Path(__file__).resolve().parent.parent
MTSAMPLES = REPO.parent / "shared" / "data" / "mtsamples" / "mtsamples.csv"
BERT_BASE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072}


def load_notes(limit: int) -> list[str]:
    if MTSAMPLES.is_file():
        with open(MTSAMPLES, encoding="utf-8") as f:
            return [r["text"] for r in csv.DictReader(f) if r["text"].strip()][:limit]
    from job_core.samples import NOTES  # fallback: the project's synthetic notes, repeated

    return [t for _, t in NOTES] * (limit // len(NOTES) + 1)


def synthetic_note(words: int) -> str:
    from job_core.samples import NOTES

    pool = " ".join(t for _, t in NOTES).split()
    return " ".join(pool[i % len(pool)] for i in range(words))


def build_random_model(folder: Path, config: dict) -> Path:
    """A random-weight BERT-CRF of the given size with the bundled tokenizer (speed only)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from nercore.sources import DEFAULT_MODEL_DIR
    from nercore.tagging.model import BertCrf, TaggerSettings

    torch.manual_seed(0)
    encoder = BertModel(BertConfig(vocab_size=30522, **config), add_pooling_layer=False)
    settings = TaggerSettings(labels=["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"], base_model="random")
    BertCrf(encoder, settings).save(folder, AutoTokenizer.from_pretrained(DEFAULT_MODEL_DIR))
    return folder


def encoder_flops_per_token(config, seq_len: float) -> float:
    """Forward FLOPs per token of a BERT encoder: 2·(dense weights) + attention scores and mixing."""
    h, layers, inter = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    dense = layers * (4 * h * h + 2 * h * inter)
    return 2 * dense + layers * 4 * seq_len * h


def peak_rss_mb() -> float:
    """This process's peak resident memory, MiB.

    ``VmHWM`` where Linux has it: ``getrusage``'s ``ru_maxrss`` survives ``exec``, so a process
    spawned by a parent that once held more reports the parent's peak, not its own.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- measurements (each runs in its own process) ----------------------------------------------
def measure_tagger(
    model: str | None,
    device: str,
    texts: list[str],
    quantize: bool,
    batch_tokens: int | None,
    repeats: int,
    dtype: str | None = None,
) -> dict:
    import torch

    from nercore import Tagger

    tagger = Tagger.load(
        model, device, quantize=quantize, batch_tokens=batch_tokens, dtype=getattr(torch, dtype) if dtype else None
    )
    tagger.tag_detailed(texts[: max(1, len(texts) // 10)])  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    best = None
    for _ in range(repeats):
        started = time.perf_counter()
        results = tagger.tag_detailed(texts)
        if device == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    words = sum(len(t.split()) for t in texts)
    tokens = sum(r.tokens for r in results)
    out = {
        "seconds": best,
        "words": words,
        "tokens": tokens,
        "words_s": words / best,
        "tokens_s": tokens / best,
        "peak_rss_mb": peak_rss_mb(),
        "entities": sum(len(r.entities) for r in results),
        "dtype": str(next(tagger.model.encoder.parameters()).dtype).replace("torch.", ""),
    }
    if device == "cuda":
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
        config = tagger.model.encoder.config
        windows = sum(r.windows for r in results)
        seq = tokens / max(1, windows)
        flops = encoder_flops_per_token(config, seq) * (tokens + 2 * windows)
        out["tflops"] = flops / best / 1e12
        out["mfu"] = out["tflops"] / 790.0
        out["gpu"] = torch.cuda.get_device_name()
    return out


def measure_hf_pipeline(
    model: str | None, texts: list[str], dtype: str = "float32", batch_size: int | None = None
) -> dict:
    """transformers' token-classification pipeline on the same weights and window overlap: note by
    note, or (``batch_size``) over the list of notes with the pipeline's own batching; ``dtype``
    is the weights' precision."""
    import torch
    from transformers import AutoTokenizer, BertForTokenClassification, pipeline

    from nercore.sources import resolve_model_folder
    from nercore.tagging.model import BertCrf

    folder = resolve_model_folder(model)
    ours = BertCrf.load(folder)
    hf = BertForTokenClassification(ours.encoder.config)
    hf.bert.load_state_dict(ours.encoder.state_dict(), strict=False)
    hf.classifier.load_state_dict(ours.classifier.state_dict())
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.model_max_length = ours.settings.max_length
    stride = ours.settings.window - ours.settings.stride  # HF's stride is the overlap in sub-words
    hf = hf.to(getattr(torch, dtype)).eval()
    tagger = pipeline(
        "token-classification", model=hf, tokenizer=tokenizer, aggregation_strategy="simple", stride=stride, device=-1
    )
    tagger(texts[0])
    started = time.perf_counter()
    with torch.inference_mode():
        results = [tagger(t) for t in texts] if batch_size is None else tagger(texts, batch_size=batch_size)
    elapsed = time.perf_counter() - started
    words = sum(len(t.split()) for t in texts)
    tokens = sum(len(tokenizer(t, add_special_tokens=False, verbose=False)["input_ids"]) for t in texts)
    return {
        "seconds": elapsed,
        "words": words,
        "tokens": tokens,
        "words_s": words / elapsed,
        "tokens_s": tokens / elapsed,
        "peak_rss_mb": peak_rss_mb(),
        "entities": sum(len(r) for r in results),
    }


def measure_beam(model: str | None, texts: list[str]) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from beam_jobs.tag_notes import run

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "notes.parquet"
        pq.write_table(pa.table({"note_id": [f"n{i}" for i in range(len(texts))], "text": texts}), path)
        args = [
            "--input",
            str(path),
            "--output",
            str(Path(tmp) / "out"),
            "--runner",
            "FnApiRunner",
            "--no-codes",
        ]  # like Tagger.load: no codes
        started = time.perf_counter()
        summary = run(args + (["--model", model] if model else []))
        elapsed = time.perf_counter() - started
    words = sum(len(t.split()) for t in texts)
    return {
        "seconds": elapsed,
        "words": words,
        "tokens": summary["tokens"],
        "words_s": words / elapsed,
        "tokens_s": summary["tokens"] / elapsed,
        "peak_rss_mb": peak_rss_mb(),
        "entities": summary["entities"],
    }


def in_fresh_process(fn, *args) -> dict:
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


# Imports a bench module of this tree, then puts another checkout first on the path and forgets
# the project's packages, so that what the function imports lazily comes from that checkout.
_IN_TREE_CODE = """
import importlib, json, sys
repo, tree, module, fn, args = sys.argv[1:6]
sys.path.insert(0, repo)
measure = getattr(importlib.import_module(module), fn)
sys.path[0] = tree
for name in [m for m in sys.modules if m.split(".")[0] in ("beam_jobs", "nercore", "schemas")]:
    del sys.modules[name]
print(json.dumps(measure(*json.loads(args))))
"""


def in_tree(tree: Path, module: str, fn: str, *args) -> dict:
    """``fn(*args)`` of this tree's bench ``module``, run in a fresh process over the project
    packages (``beam_jobs``, ``nercore``, ``schemas``) of another checkout ``tree``: the same
    measuring code over another commit's job. ``fn`` must import those packages inside itself;
    ``args`` must be JSON values."""
    code = [sys.executable, "-c", _IN_TREE_CODE, str(REPO), str(tree), module, fn, json.dumps(args)]
    out = subprocess.run(code, cwd=tree, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- report -----------------------------------------------------------------------------------
def machine() -> str:
    return f"{cpu_model()}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def cpu_model() -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``), else the platform's processor string."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def table(rows: list[tuple[str, dict]]) -> str:
    head = (
        "| measurement | notes | words/s | tokens/s | seconds | peak RSS MB | peak GPU MB | MFU |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    lines = [head]
    for name, r in rows:
        gpu = f"{r['peak_gpu_mb']:.0f}" if "peak_gpu_mb" in r else "-"
        mfu = f"{100 * r['mfu']:.1f}% ({r['tflops']:.1f} TFLOP/s)" if "mfu" in r else "-"
        lines.append(
            f"| {name} | {r.get('notes', '-')} | {r['words_s']:,.0f} | {r['tokens_s']:,.0f} | {r['seconds']:.2f} | "
            f"{r['peak_rss_mb']:,.0f} | {gpu} | {mfu} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bench-throughput", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    p.add_argument(
        "--config", default=None, choices=("bert-base",), help="benchmark a random-weight model of this size instead"
    )
    p.add_argument("--notes", type=int, default=200, help="mtsamples notes to tag")
    p.add_argument("--batch-tokens", type=int, default=None, help="default: the tagger's per-device default")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--hf", action="store_true", help="also run the Hugging Face pipeline on the same notes")
    p.add_argument(
        "--hf-batched", action="store_true", help="also run the HF pipeline with batch_size=16, in float32 and bfloat16"
    )
    p.add_argument("--quantize", action="store_true", help="also run with dynamic int8 quantisation")
    p.add_argument("--beam", action="store_true", help="also run the whole Beam job on the same notes")
    p.add_argument("--scaling", action="store_true", help="also tag single notes of 500, 2000, 8000 and 32000 words")
    p.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)

    import torch

    from nercore.tagging.device import native_bf16

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if args.config:
            model = str(build_random_model(Path(tmp) / args.config, BERT_BASE))
        texts = load_notes(args.notes)
        rows = []
        r = in_fresh_process(measure_tagger, model, args.device, texts, False, args.batch_tokens, args.repeats)
        default_name = f"Tagger.tag ({args.device}, default dtype {r['dtype']})"
        rows.append((default_name, {**r, "notes": len(texts)}))
        other = "bfloat16" if r["dtype"] == "float32" else "float32"
        if other == "float32" or args.device == "cuda" or native_bf16(torch.device("cpu")):
            f = in_fresh_process(
                measure_tagger, model, args.device, texts, False, args.batch_tokens, args.repeats, other
            )
            rows.append((f"Tagger.tag ({args.device}, {other})", {**f, "notes": len(texts)}))
        if args.quantize:
            q = in_fresh_process(measure_tagger, model, args.device, texts, True, args.batch_tokens, args.repeats)
            rows.append(
                ("Tagger.tag (cpu, int8 dynamic; loses 1-2 F1 points, see bench.precision)", {**q, "notes": len(texts)})
            )
        if args.hf:
            h = in_fresh_process(measure_hf_pipeline, model, texts)
            rows.append(("HF pipeline, note by note (aggregation simple, same overlap)", {**h, "notes": len(texts)}))
        if args.hf_batched:
            for dtype in ("float32", "bfloat16"):
                h = in_fresh_process(measure_hf_pipeline, model, texts, dtype, 16)
                rows.append(
                    (
                        f"HF pipeline {dtype}, batch_size=16 (aggregation simple, same overlap)",
                        {**h, "notes": len(texts)},
                    )
                )
        if args.beam:
            b = in_fresh_process(measure_beam, model, texts)
            rows.append(
                ("Beam job end to end (FnApiRunner, incl. start-up and model load)", {**b, "notes": len(texts)})
            )
            one = in_fresh_process(measure_beam, model, texts[:1])
            rows.append(("Beam job on the first note alone (start-up, model load, one note)", {**one, "notes": 1}))
        if args.scaling:
            for words in (500, 2000, 8000, 32000):
                s = in_fresh_process(
                    measure_tagger, model, args.device, [synthetic_note(words)], False, args.batch_tokens, 1
                )
                rows.append((f"one note of {words:,} words", {**s, "notes": 1}))

    title = heading(f"{args.device}, model {args.config or args.model or 'bundled default'}")
    notes = [f"Machine: {machine()}; HF pipeline in float32 (its default) unless its row says otherwise."]
    if args.device == "cpu":
        notes.append("GPU: unmeasured in this run.")
    else:
        notes.append(f"GPU: {rows[0][1].get('gpu', '?')}; MFU against 790 TFLOP/s bf16 dense peak.")
    base = dict(rows)
    hf_rows = [(n, r) for n, r in rows if n.startswith("HF")]
    if hf_rows:
        hf_name, hf_row = max(hf_rows, key=lambda nr: nr[1]["words_s"])
        for name, r in rows:
            if name.startswith("Tagger.tag"):
                notes.append(
                    f"{name}: {r['words_s'] / hf_row['words_s']:.2f}x the fastest HF pipeline run here ({hf_name})."
                )
    beam_row = next((r for n, r in rows if n.startswith("Beam")), None)
    if beam_row:
        ref = base[default_name]
        notes.append(
            f"Beam job words/s = {100 * beam_row['words_s'] / ref['words_s']:.0f}% of Tagger.tag words/s (same "
            "default dtype)."
        )
        startup = next(r for n, r in rows if n.startswith("Beam job on the first note"))["seconds"]
        steady = beam_row["words"] / max(1e-9, beam_row["seconds"] - startup)
        notes.append(
            f"Beam job without its fixed start-up ({startup:.1f} s, the one-note run): {steady:,.0f} words/s = "
            f"{100 * steady / ref['words_s']:.0f}% of Tagger.tag words/s."
        )
    report = "\n".join([title, "", *[f"- {n}" for n in notes], "", table(rows), ""])
    publish(report, args.output, not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
