"""Devel F1 on long texts at several window settings (max_length, stride).

``python -m bench.windows [--model DIR] [--setting 256:192 --setting 128:112 ...]``

Sentence-level devel scores never cut a text into windows, so they cannot show how a model does
on long notes. This benchmark tags long texts: BC5CDR devel sentences joined 20 at a time (in
file order, so mostly whole abstracts and their neighbours), and the NCBI-disease devel
documents (title and abstract, PubTator offsets). It prints a table and appends it to
BENCHMARKS.md. Use a model whose devel sets were held out of training.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.report import heading, publish

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
DEFAULT_SETTINGS = ("256:192", "256:224", "128:96", "128:112", "64:48")
SENTENCES_PER_TEXT = 20


def parse_setting(value: str) -> tuple[int, int]:
    try:
        max_length, stride = (int(x) for x in value.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MAX_LENGTH:STRIDE such as 128:112, got {value!r}") from None
    return max_length, stride


def main(argv=None) -> int:
    from nercore import Tagger
    from nercore.corpora.documents import join_sentences, read_conll, read_pubtator
    from nercore.evaluation.tagger import evaluate_documents, evaluate_sentences
    from nercore.sources import resolve_model_folder
    from nercore.tagging.model import read_settings

    p = argparse.ArgumentParser(prog="bench-windows", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    p.add_argument(
        "--setting",
        type=parse_setting,
        action="append",
        help=f"MAX_LENGTH:STRIDE; repeat (default: {', '.join(DEFAULT_SETTINGS)})",
    )
    p.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    if not DATA.is_dir():
        print("../shared/data is absent: nothing to measure", file=sys.stderr)
        return 0
    settings = args.setting or [parse_setting(s) for s in DEFAULT_SETTINGS]
    bc5cdr = read_conll(DATA / "bc5cdr" / "devel.tsv")
    joined = join_sentences(bc5cdr, SENTENCES_PER_TEXT)
    ncbi = read_pubtator(DATA / "ncbi_disease" / "pubtator" / "devel.txt")
    lines = [
        "| max_length:stride | BC5CDR devel sentences | BC5CDR devel, 20 sentences per text | NCBI-disease devel "
        "documents | seconds |",
        "| --- | --- | --- | --- | --- |",
    ]
    saved = read_settings(resolve_model_folder(args.model))
    for max_length, stride in settings:
        tagger = Tagger.load(args.model, "cpu", max_length=max_length, stride=stride)
        started = time.perf_counter()
        f_sent = evaluate_sentences(tagger, bc5cdr).overall.f1
        f_joined = evaluate_documents(tagger, joined).overall.f1
        f_ncbi = evaluate_documents(tagger, ncbi, ["Disease"]).overall.f1
        elapsed = time.perf_counter() - started
        mark = " (saved)" if (max_length, stride) == (saved.max_length, saved.stride) else ""
        lines.append(f"| {max_length}:{stride}{mark} | {f_sent:.4f} | {f_joined:.4f} | {f_ncbi:.4f} | {elapsed:.0f} |")
        print(lines[-1], flush=True)
    report = "\n".join(
        [
            heading(f"window settings vs devel F1 on long texts, model {args.model or 'bundled default'}"),
            "",
            f"- Strict F1; encoder precision {tagger.precision}; the model's saved setting is "
            f"{saved.max_length}:{saved.stride}.",
            "",
            *lines,
            "",
        ]
    )
    publish(report, args.output, not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
