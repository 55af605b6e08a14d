"""The GPU device check: every figure the GPU issue asks for, in one prepared run of a few minutes.

``python -m bench.gpu [--device cuda] [--out DIR] [--budget-s 420]``
``python -m bench.gpu --device cpu --dry-run --out DIR`` (the same code on tiny sizes: what CI runs)

``scripts/gpu_check.sh`` runs it on the device machine (with the packages that machine lacks from
``scripts/gpu_prepare.sh``). It writes ``gpu.json`` and ``gpu.md`` into ``--out`` after every stage,
so that a run cut short still leaves what it measured. Stages:

1. **throughput**: sub-words/s of ``Tagger.tag_detailed`` for the bundled model and a random
   BERT-base-sized model (a tiny one in the dry run) in bfloat16 at several ``batch_tokens``, with
   MFU, peak GPU memory and the share of wall time the GPU waits for the host;
2. **job**: the Beam job end to end (``--device``, ``--no-codes``, FnApiRunner, start-up and model
   load included) on synthetic notes, against ``Tagger.tag`` on the same notes and model;
3. **invariance**: the same notes tagged alone, together and in reverse order: are emissions and
   entities bit-identical, and by how much do they differ;
4. **job, large batches**: the job again with inference batches of four tagger chunks
   (``LARGE_JOB_BATCH_CHARS``), inside which the tagger's overlap runs: whether the job's default
   batches leave the GPU waiting.

"GPU wait" is the share of a run's wall time outside the encoder's forward calls on the device's
own timeline (CUDA events recorded by forward hooks; ``perf_counter`` on the CPU): tokenising,
batching, the CRF decode and the host stages all count as waiting, which is what a faster host
path would win back.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from bench.throughput import BERT_BASE, build_random_model, cpu_model, encoder_flops_per_token, machine, peak_rss_mb
from nercore.tagging.tagger import DEFAULT_CHUNK_CHARS

PEAK_TFLOPS = 790.0  # bf16 dense matrix product measured on the H200 here (device/KINDS.md); MFU's denominator
# The job's inference batches in the last stage: four of the tagger's chunks, so that its overlap
# (on by default on a GPU) runs inside each batch; the job's default batch (400,000 characters) is
# one chunk, which the tagger runs stage after stage, the GPU idle while the host works.
LARGE_JOB_BATCH_CHARS = 4 * DEFAULT_CHUNK_CHARS
TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}


@dataclass(frozen=True)
class Sizes:
    """How much of everything one run measures."""

    notes: int  # throughput stage
    batch_tokens: tuple[int, ...]
    big_model: str  # "bert-base" or "tiny"
    job_notes: int
    invariance_notes: int
    min_words: int = 20
    max_words: int = 400
    chunk_texts: int | None = None  # None: the tagger's default

    def __post_init__(self) -> None:
        if self.notes < 1 or self.job_notes < 1 or self.invariance_notes < 2:
            raise ValueError(f"expected notes >= 1 and invariance_notes >= 2, got {self}")
        if not self.batch_tokens or min(self.batch_tokens) < 512:
            raise ValueError(f"expected batch_tokens of at least 512, got {self.batch_tokens}")


FULL = Sizes(notes=20_000, batch_tokens=(8_192, 32_768, 131_072), big_model="bert-base", job_notes=20_000,
             invariance_notes=256)  # fmt: skip
DRY_RUN = Sizes(notes=12, batch_tokens=(512, 2_048), big_model="tiny", job_notes=24, invariance_notes=6, max_words=80,
                  chunk_texts=4)  # fmt: skip


def synthetic_notes(n: int, sizes: Sizes, seed: int = 0) -> list[str]:
    """``n`` notes of ``min_words``..``max_words`` words drawn from the sample notes' vocabulary
    (the reference data does not travel to the device machine)."""
    from job_core.samples import NOTES

    pool = " ".join(t for _, t in NOTES).split()
    rng = random.Random(seed)
    return [" ".join(rng.choice(pool) for _ in range(rng.randint(sizes.min_words, sizes.max_words))) for _ in range(n)]


class EncoderClock:
    """Times every forward call of ``module`` on the device's own timeline (forward hooks)."""

    def __init__(self, module: torch.nn.Module, device: torch.device):
        self.cuda = device.type == "cuda"
        self.marks: list[tuple[object, object]] = []
        self._open: object | None = None
        self._hooks = [module.register_forward_pre_hook(self._start), module.register_forward_hook(self._stop)]

    def _stamp(self) -> object:
        if not self.cuda:
            return time.perf_counter()
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def _start(self, *_) -> None:
        self._open = self._stamp()

    def _stop(self, *_) -> None:
        self.marks.append((self._open, self._stamp()))

    def reset(self) -> None:
        self.marks.clear()

    def busy_seconds(self) -> float:
        """Seconds spent inside the encoder's forward calls since the last ``reset``."""
        if self.cuda:
            torch.cuda.synchronize()
            return sum(a.elapsed_time(b) for a, b in self.marks) / 1000.0
        return sum(b - a for a, b in self.marks)

    def close(self) -> None:
        for hook in self._hooks:
            hook.remove()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure_throughput(
    model: str | None,
    device: torch.device,
    texts: list[str],
    batch_tokens: int,
    chunk_texts: int | None = None,
    flip_overlap: bool = False,
) -> dict:
    """One timed ``tag_detailed`` over ``texts`` (after a warm-up on a tenth of them), bfloat16;
    ``flip_overlap``: with ``Tagger.overlap`` the other way from the device's default."""
    from nercore import Tagger

    tagger = Tagger.load(model, device, batch_tokens=batch_tokens, dtype=torch.bfloat16)
    if flip_overlap:
        tagger.overlap = not tagger.overlap
    if chunk_texts is not None:
        tagger.chunk_texts = chunk_texts
    tagger.tag_detailed(texts[: max(1, len(texts) // 10)])
    clock = EncoderClock(tagger.model.encoder, device)
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    results = tagger.tag_detailed(texts)
    sync(device)
    seconds = time.perf_counter() - started
    busy = clock.busy_seconds()
    clock.close()
    tokens, windows = sum(r.tokens for r in results), sum(r.windows for r in results)
    config = tagger.model.encoder.config
    flops = encoder_flops_per_token(config, tokens / max(1, windows)) * (tokens + 2 * windows)
    out = {
        "batch_tokens": batch_tokens,
        "overlap": tagger.overlap,
        "layers": config.num_hidden_layers,
        "hidden": config.hidden_size,
        "notes": len(texts),
        "seconds": seconds,
        "subwords": tokens,
        "subwords_s": tokens / seconds,
        "entities": sum(len(r.entities) for r in results),
        "tflops": flops / seconds / 1e12,
        "mfu": flops / seconds / 1e12 / PEAK_TFLOPS if device.type == "cuda" else None,
        "encoder_busy_s": busy,
        "gpu_wait_share": max(0.0, 1.0 - busy / seconds),
        "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None,
        "peak_rss_mb": peak_rss_mb(),
    }
    del tagger
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return out


def measure_job(
    model: str, device: torch.device, texts: list[str], tmp: Path, max_batch_chars: int | None = None
) -> dict:
    """The Beam job end to end over ``texts``; ``max_batch_chars``: its inference batches (its
    default when None)."""
    from beam_jobs.tag_notes import run
    from bench.engines import write_notes

    path = tmp / "notes.parquet"
    if not path.exists():
        write_notes(path, texts)
    out = tmp / f"out-{max_batch_chars or 'default'}"
    args = ["--input", str(path), "--output", str(out), "--model", model, "--device", device.type]
    if max_batch_chars is not None:
        args += ["--max-batch-chars", str(max_batch_chars)]
    started = time.perf_counter()
    summary = run([*args, "--dtype", "bfloat16", "--no-codes"])
    seconds = time.perf_counter() - started
    return {
        "notes": len(texts),
        "max_batch_chars": max_batch_chars,
        "notes_tagged": summary["notes_tagged"],
        "notes_rejected": summary["notes_rejected"],
        "entities": summary["entities"],
        "seconds": seconds,
        "subwords_s": summary["tokens"] / seconds,
    }


def measure_tagger(model: str, device: torch.device, texts: list[str]) -> dict:
    """``Tagger.tag_detailed`` on the job's notes and model (after a warm-up on a tenth of them)."""
    from nercore import Tagger

    tagger = Tagger.load(model, device, dtype=torch.bfloat16)
    tagger.tag(texts[: max(1, len(texts) // 10)])
    sync(device)
    started = time.perf_counter()
    results = tagger.tag_detailed(texts)
    sync(device)
    return {"tagger_entities": sum(len(r.entities) for r in results), "tagger_seconds": time.perf_counter() - started}


def job_row(model: str, job: dict, tagger: dict) -> dict:
    return {"model": model, **job, **tagger, "job_over_tagger": tagger["tagger_seconds"] / job["seconds"]}


def measure_invariance(model: str, device: torch.device, texts: list[str]) -> dict:
    """Emissions and entities of each text tagged alone, all together, and all in reverse order."""
    from nercore import Tagger

    tagger = Tagger.load(model, device, dtype=torch.bfloat16)

    def emissions(batch: list[str]) -> list[torch.Tensor]:
        prepared = tagger.preprocess(batch)
        rows = tagger.forward(prepared).cpu()
        bounds = prepared.tokens.word_offsets.tolist()
        return [rows[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def spans(batch: list[str]) -> list[list[tuple]]:
        return [[(e.entity_type, e.start_char, e.end_char, e.score) for e in es] for es in tagger.tag(batch)]

    alone = [emissions([t])[0] for t in texts]
    together = emissions(texts)
    backward = emissions(texts[::-1])[::-1]
    alone_spans = [spans([t])[0] for t in texts]
    out = {"notes": len(texts)}
    for name, other, other_spans in (
        ("together", together, spans(texts)),
        ("reversed", backward, spans(texts[::-1])[::-1]),
    ):
        diff = max(float((a - b).abs().max()) if a.numel() else 0.0 for a, b in zip(alone, other))
        out[name] = {
            "emissions_identical": all(torch.equal(a, b) for a, b in zip(alone, other)),
            "max_emission_diff": diff,
            "entities_identical": alone_spans == other_spans,
            "notes_with_other_entities": sum(a != b for a, b in zip(alone_spans, other_spans)),
        }
    return out


def markdown(report: dict) -> str:
    """The report as the Markdown BENCHMARKS.md takes."""
    lines = [
        f"GPU check on {report['device_name']} ({report['machine']}); torch {report['torch']}; "
        f"{'DRY RUN (tiny sizes, figures meaningless)' if report['dry_run'] else 'full sizes'}.",
        "",
        "| model | batch_tokens | overlap | notes | sub-words/s | MFU | peak GPU MB | GPU waits |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report.get("throughput", []):
        mfu = f"{100 * row['mfu']:.1f}% ({row['tflops']:.0f} TFLOP/s)" if row["mfu"] is not None else "-"
        gpu_mb = f"{row['peak_gpu_mb']:,.0f}" if row["peak_gpu_mb"] is not None else "-"
        lines.append(
            f"| {row['model']} | {row['batch_tokens']:,} | {'on' if row['overlap'] else 'off'} | {row['notes']:,} "
            f"| {row['subwords_s']:,.0f} | {mfu} | "
            f"{gpu_mb} | {100 * row['gpu_wait_share']:.0f}% |"
        )
    for key in ("job", "job_large_batches"):
        if key in report:
            job = report[key]
            batches = f"--max-batch-chars {job['max_batch_chars']:,}" if job["max_batch_chars"] else "default batches"
            lines += [
                "",
                f"Job end to end ({job['model']}, {job['notes']:,} notes, {batches}, start-up included): "
                f"{job['seconds']:.1f} s, {job['subwords_s']:,.0f} sub-words/s; Tagger.tag on the same notes "
                f"{job['tagger_seconds']:.1f} s (job = {job['job_over_tagger']:.2f}x of Tagger.tag).",
            ]
    if "invariance" in report:
        inv = report["invariance"]
        for name in ("together", "reversed"):
            r = inv[name]
            lines.append(
                f"Batch invariance, {inv['notes']} notes alone vs {name}: emissions "
                f"{'bit-identical' if r['emissions_identical'] else 'differ'} (max {r['max_emission_diff']:.3g}), "
                f"entities {'identical' if r['entities_identical'] else 'differ'} "
                f"({r['notes_with_other_entities']} notes differ)."
            )
    if report.get("skipped"):
        lines.append(f"Skipped for the time budget: {', '.join(report['skipped'])}.")
    return "\n".join(lines) + "\n"


def write(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "gpu.md").write_text(markdown(report))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench-gpu", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda (default), or cpu for the dry run")
    p.add_argument("--out", type=Path, required=True, help="folder for gpu.json and gpu.md")
    p.add_argument("--dry-run", action="store_true", help="tiny sizes: the whole check in a minute on a CPU")
    p.add_argument("--budget-s", type=float, default=420.0, help="skip stages that would start after this")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda, but torch sees no CUDA device", file=sys.stderr)
        return 2
    sizes = DRY_RUN if args.dry_run else FULL
    started = time.perf_counter()
    report: dict = {
        "device_name": torch.cuda.get_device_name() if device.type == "cuda" else cpu_model(),
        "machine": machine(),
        "torch": torch.__version__,
        "dry_run": args.dry_run,
        "sizes": asdict(sizes),
        "throughput": [],
        "skipped": [],
    }

    def in_budget(stage: str) -> bool:
        if time.perf_counter() - started < args.budget_s:
            print(f"[gpu] {stage} ({time.perf_counter() - started:.0f} s in)", flush=True)
            return True
        report["skipped"].append(stage)
        return False

    with tempfile.TemporaryDirectory() as tmp:
        big = str(build_random_model(Path(tmp) / "big", BERT_BASE if sizes.big_model == "bert-base" else TINY))
        models = {"bundled": None, sizes.big_model: big}
        texts = synthetic_notes(sizes.notes, sizes)
        for name, model in models.items():
            for batch_tokens in sizes.batch_tokens:
                if in_budget(f"throughput {name} {batch_tokens}"):
                    row = measure_throughput(model, device, texts, batch_tokens, sizes.chunk_texts)
                    report["throughput"].append({"model": name, **row})
                    write(report, args.out)
        middle = sizes.batch_tokens[len(sizes.batch_tokens) // 2]
        if in_budget(f"throughput {sizes.big_model} {middle}, overlap flipped"):
            row = measure_throughput(big, device, texts, middle, sizes.chunk_texts, flip_overlap=True)
            report["throughput"].append({"model": sizes.big_model, **row})
            write(report, args.out)
        job_texts = synthetic_notes(sizes.job_notes, sizes, seed=1)
        if in_budget("job"):
            job = measure_job(big, device, job_texts, Path(tmp))
            reference = measure_tagger(big, device, job_texts)
            report["job"] = job_row(sizes.big_model, job, reference)
            write(report, args.out)
        if in_budget("invariance"):
            report["invariance"] = measure_invariance(big, device, synthetic_notes(sizes.invariance_notes, sizes, 2))
            write(report, args.out)
        if in_budget("job, large batches") and "job" in report:
            job = measure_job(big, device, job_texts, Path(tmp), LARGE_JOB_BATCH_CHARS)
            report["job_large_batches"] = job_row(sizes.big_model, job, reference)
    report["seconds"] = time.perf_counter() - started
    write(report, args.out)
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
