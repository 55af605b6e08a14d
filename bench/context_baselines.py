"""medspaCy's ConText and negspacy on a ConText-format TSV, scored like ``nercore.evaluation.context``.

Neither library is a dependency of this project (medspaCy pins spaCy 3.7 and numpy 1.26), so
run this with a separate environment that has them and this repository on the path::

    python -m venv /tmp/medspacy && /tmp/medspacy/bin/pip install medspacy==1.3.1 negspacy
    PYTHONPATH=. /tmp/medspacy/bin/python -m bench.context_baselines --data ../shared/data/context/context_dev.tsv

Each concept is located in its sentence exactly as ``nercore.evaluation.context`` does, given to the
library as the sentence's only entity, and scored by ``nercore.evaluation.context.score``.
medspaCy: its default sentence splitter (PyRuSH) and default ConText rules; negated =
``is_negated``, historical/hypothetical = ``is_historical``/``is_hypothetical``, other =
``is_family``. negspacy: a blank English pipeline, spaCy's sentencizer, default termset.
Speed is not measured here (each library is driven span by span, not as it would run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nercore.context.engine import Context
from nercore.evaluation.context import format_report, locate, read_rows, score


def predict(rows, make_doc, run, read):
    """Locate each row's concept, make a doc with it as the only entity, run the library's
    components over it, read its context (None for an unlocated row)."""
    out = []
    for row in rows:
        span = locate(row.concept, row.sentence)
        if span is None:
            out.append(None)
            continue
        doc = make_doc(row.sentence)
        doc.ents = [doc.char_span(*span, label="CONCEPT", alignment_mode="expand")]
        out.append(read(run(doc).ents[0]))
    return out


def medspacy_predict(rows):
    import medspacy
    from loguru import logger

    logger.remove()  # PyRuSH logs every sentence at DEBUG level
    nlp = medspacy.load()
    components = [nlp.get_pipe(n) for n in nlp.pipe_names if n != "medspacy_target_matcher"]

    def run(doc):
        for component in components:
            doc = component(doc)
        return doc

    def read(e):
        negation = "negated" if e._.is_negated else ("possible" if e._.is_uncertain else "affirmed")
        temporality = "hypothetical" if e._.is_hypothetical else ("historical" if e._.is_historical else "recent")
        return Context(negation, temporality, "other" if e._.is_family else "patient")

    return predict(rows, nlp.make_doc, run, read)


def negspacy_predict(rows):
    import spacy
    from negspacy.negation import Negex  # noqa: F401  (registers the "negex" factory)

    nlp = spacy.blank("en")
    sentencizer = nlp.add_pipe("sentencizer")
    negex = nlp.add_pipe("negex", config={"ent_types": ["CONCEPT"]})
    return predict(
        rows,
        nlp.make_doc,
        lambda doc: negex(sentencizer(doc)),
        lambda e: Context("negated" if e._.negex else "affirmed"),
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    rows = read_rows(args.data)
    results = {}
    for name, predict in (("medspacy", medspacy_predict), ("negspacy", negspacy_predict)):
        report = score(rows, predict(rows))
        results[name] = report
        if not args.json:
            print(f"== {name}\n{format_report(report)}\n")
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
