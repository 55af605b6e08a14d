"""``report.html``: a night at a glance, one self-contained file (charts inline as SVG).

``python -m job_core.report OUTPUT [--compare-to PREVIOUS] [--out FILE]`` renders the report of
any published output folder (the job writes one into every output it publishes).

The charts are drawn with matplotlib (SVG, text as paths: no fonts, scripts, CDN or network
needed to open the file; matplotlib because it is the most widely packaged plotting library and
draws static SVG without a browser runtime). Everything comes from ``summary.json``: counts,
rates and histograms, never a note's text or id, so the report may be mailed around.
"""

from __future__ import annotations

import argparse
import html
import io
import re
import sys
from collections.abc import Sequence

from job_core import files
from job_core.drift import compare_summaries
from job_core.outputs import REPORT_FILE, SUMMARY_FILE, published_folder, read_json
from job_core.run_stats import CONTEXT_FIELDS, DENSITY_BINS, DENSITY_STEP, SCORE_BINS, share

STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
tr.flagged td { background: #fde2e2; font-weight: bold; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; } .chart { flex: 1 1 480px; }
.note { color: #555; } .alert { background: #fde2e2; padding: 0.6em; border-left: 4px solid #c00; }
"""


def subplots(rows: int = 1, columns: int = 1, **figure_options):
    """A figure and its axes, with matplotlib's object API (no pyplot: no global figure state, no
    display backend). Imported on first use: every worker imports this module with the job, and
    matplotlib costs 0.85 s and 30 MB there, for a report only the launcher draws."""
    from matplotlib.figure import Figure  # noqa: PLC0415 - see the docstring

    fig = Figure(**figure_options)
    axes = fig.subplots(rows, columns)
    return fig, axes


def svg(fig) -> str:
    """A figure as inline SVG markup (its XML header dropped)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    # The RDF metadata block names its vocabularies by URL; nothing in it is needed to draw.
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg") :], flags=re.S)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], horizontal: bool = False) -> str:
    fig, ax = subplots(figsize=(6, max(2.5, 0.3 * len(labels)) if horizontal else 3.2))
    if horizontal:
        ax.barh(list(labels)[::-1], list(values)[::-1], color="#4878a8")
    else:
        ax.bar(list(labels), list(values), color="#4878a8")
        ax.tick_params(axis="x", labelrotation=30)
    ax.set_title(title)
    return svg(fig)


def histogram(title: str, series: dict[str, dict[str, int]], bins: int, step: float, xlabel: str) -> str:
    fig, ax = subplots(figsize=(6, 3.2))
    edges = [i * step for i in range(bins + 1)]
    for name, counts in series.items():
        heights = [counts.get(str(i), 0) for i in range(bins)]
        ax.stairs(heights, edges, label=name)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    if len(series) > 1:
        ax.legend()
    return svg(fig)


def shares_chart(stats: dict) -> str:
    """Negation, temporality and experiencer shares per entity type (stacked bars)."""
    by_type = stats.get("by_type", {})
    fig, axes = subplots(1, len(CONTEXT_FIELDS), figsize=(11, 3.2))
    for ax, field in zip(axes, CONTEXT_FIELDS):
        values = sorted({k.split(":", 1)[1] for c in by_type.values() for k in c if k.startswith(field + ":")})
        bottoms = [0.0] * len(by_type)
        for value in values:
            heights = [share(c.get(f"{field}:{value}", 0), c.get("n", 0)) for c in by_type.values()]
            ax.bar(list(by_type), heights, bottom=bottoms, label=value)
            bottoms = [b + h for b, h in zip(bottoms, heights)]
        ax.set_title(f"{field} share by type")
        ax.set_ylim(0, 1)
        if values:  # a night without entities has nothing to label
            ax.legend(fontsize="small")
    return svg(fig)


def table(head: Sequence[str], rows: Sequence[Sequence[object]], flagged: Sequence[bool] = ()) -> str:
    lines = ["<table>", "<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in head) + "</tr>"]
    for i, row in enumerate(rows):
        cls = ' class="flagged"' if i < len(flagged) and flagged[i] else ""
        lines.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>")
    return "\n".join(lines + ["</table>"])


def headline(summary: dict) -> str:
    seconds = summary.get("seconds") or 0
    rows = [
        ("notes in footers", f"{summary['notes_in_footers']:,}"),
        ("notes read", f"{summary['notes_read']:,}"),
        ("notes tagged", f"{summary['notes_tagged']:,}"),
        ("notes rejected", f"{summary['notes_rejected']:,}"),
        ("notes unchanged", f"{summary.get('notes_unchanged', 0):,}"),
        ("entities", f"{summary['entities']:,}"),
        ("ICD-10-CM codes (entities with a code)", f"{summary.get('entities_with_code', 0):,}"),
        ("run time", f"{seconds:,.1f} s"),
        ("notes/s", f"{summary['notes_read'] / seconds:,.1f}" if seconds else "-"),
        ("model", f"{summary['model_name']} (version {summary['model_version']})"),
        ("precision", ", ".join(f"{k} ({v:,} notes)" for k, v in summary.get("notes_by_precision", {}).items()) or "-"),
        ("runner", summary.get("runner", "-")),
        ("run", summary["run_id"]),
    ]
    return table(("", "this run"), rows)


def comparison_section(comparison: dict | None) -> str:
    if not comparison:
        return '<p class="note">No previous published run of this output to compare with.</p>'
    parts = [
        f"<p>Against run {html.escape(str(comparison['previous_run']))}; a rate is flagged when it moves by "
        f"more than {100 * comparison['tolerance']:.0f}%.</p>"
    ]
    if comparison.get("model_changed"):
        parts.append('<p class="alert">The model version changed since that run: rates are expected to move.</p>')
    if comparison.get("drift_accepted"):
        parts.append('<p class="alert">Drift beyond --max-drift was accepted for this run (--accept-drift).</p>')

    def show(v):
        return "-" if v is None else f"{v:.4g}"

    def change(r: dict) -> str:
        if r["previous"] is None:
            return "appeared"
        if r["current"] is None:
            return "gone"
        return (
            "from 0"
            if r["relative"] is None and r["flagged"]
            else ("-" if r["relative"] is None else f"{100 * r['relative']:+.1f}%")
        )

    rows = [(r["name"], show(r["previous"]), show(r["current"]), change(r)) for r in comparison["rates"]]
    parts.append(table(("rate", "previous", "this run", "change"), rows, [r["flagged"] for r in comparison["rates"]]))
    return "\n".join(parts)


def render(summary: dict) -> str:
    """The report's HTML for one run's summary (with its ``comparison`` when it has one)."""
    stats = summary.get("stats", {})
    by_type = stats.get("by_type", {})
    sections = sorted(stats.get("sections", {}).items(), key=lambda kv: (-kv[1], kv[0]))[:15]
    codes = sorted(stats.get("affirmed_patient_codes", {}).items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    disease = by_type.get("Disease", {})
    charts = [
        ("Entities by type", bar_chart("entities by type", list(by_type), [c.get("n", 0) for c in by_type.values()])),
        ("Context by type", shares_chart(stats)),
        (
            "Entities by section (top 15)",
            bar_chart("entities by section", [s for s, _ in sections], [n for _, n in sections], horizontal=True),
        ),
        (
            "Score distribution per type",
            histogram(
                "entity score",
                {
                    t: {k.split(":")[1]: v for k, v in c.items() if k.startswith("score_bin:")}
                    for t, c in by_type.items()
                },
                SCORE_BINS,
                1 / SCORE_BINS,
                "score",
            ),
        ),
        (
            "Entities per 1,000 characters across notes",
            histogram(
                "notes by entity density",
                {"notes": stats.get("density_bins", {})},
                DENSITY_BINS,
                DENSITY_STEP,
                "entities per 1,000 characters",
            ),
        ),
        (
            "ICD-10-CM code scores",
            histogram(
                "best code score of coded Disease entities",
                {"Disease": {k.split(":")[1]: v for k, v in disease.items() if k.startswith("code_score_bin:")}},
                SCORE_BINS,
                1 / SCORE_BINS,
                "score",
            ),
        ),
        (
            "Top 20 codes among affirmed patient mentions",
            bar_chart("codes", [c for c, _ in codes], [n for _, n in codes], horizontal=True),
        ),
        (
            "Rejects by reason",
            bar_chart(
                "rejects",
                list(summary.get("rejects_by_reason", {})),
                list(summary.get("rejects_by_reason", {}).values()),
            ),
        ),
    ]
    rates = summary.get("rates", {})
    coverage = share(disease.get("coded", 0), disease.get("n", 0))
    body = [
        f"<h1>Clinical NER run {html.escape(summary['run_id'])}</h1>",
        '<h2 id="headline">Headline</h2>',
        headline(summary),
        '<h2 id="rates">Rates</h2>',
        table(("rate", "this run"), [(k, f"{v:.4g}") for k, v in rates.items()]),
        '<h2 id="comparison">Comparison with the previous run</h2>',
        comparison_section(summary.get("comparison")),
        '<h2 id="coverage">ICD-10-CM coverage</h2>',
        f"<p>{disease.get('coded', 0):,} of {disease.get('n', 0):,} Disease entities coded "
        f"({100 * coverage:.1f}%).</p>",
        '<h2 id="charts">Charts</h2>',
        '<div class="charts">',
        *[f'<div class="chart"><h3>{html.escape(title)}</h3>{chart}</div>' for title, chart in charts],
        "</div>",
        '<p class="note">Counts only: no note text and no note ids are in this report.</p>',
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Clinical NER run '
        f"{html.escape(summary['run_id'])}</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def write_report(folder: str, summary: dict) -> str:
    """Write ``folder/report.html`` (local or object store); its path."""
    path = f"{folder}/{REPORT_FILE}"
    with files.create(path) as handle:
        handle.write(render(summary).encode("utf-8"))
    return path


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m job_core.report", description=__doc__.splitlines()[0])
    p.add_argument("output", help="a published output folder of the job")
    p.add_argument("--compare-to", help="another published output folder to compare with")
    p.add_argument("--out", help="where to write the report (default: OUTPUT's folder/report.html)")
    args = p.parse_args(argv)
    folder = published_folder(args.output)
    summary = read_json(f"{folder}/{SUMMARY_FILE}")
    if args.compare_to:
        summary["comparison"] = compare_summaries(
            summary, read_json(f"{published_folder(args.compare_to)}/{SUMMARY_FILE}")
        )
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(render(summary))
        path = args.out
    else:
        path = write_report(folder, summary)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
