"""The terms an ICD-10-CM code can be found by: ICD-10-CM's own texts and Disease Ontology names.

Sources, all offline:

- ICD-10-CM (public domain, CDC/NCHS) from the PyPI package ``simple-icd-10-cm`` (pinned in
  ``requirements.txt``): each category's and subcategory's description, inclusion terms and
  "includes" notes. Codes with a 7th-character extension (encounter, episode) and the external
  cause chapter (V00-Y99) are left out: a disease mention never means them.
- The Human Disease Ontology (CC0 1.0), shipped in a derived form as ``codes/data/doid_icd10cm.tsv``:
  the name and synonyms of every disease term that has an ICD-10-CM cross-reference. Regenerate it
  with ``python -m nercore.codes.terms --doid doid_terms.tsv``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import version
from pathlib import Path

from nercore.codes.icd import codeset

DOID_RESOURCE = "data/doid_icd10cm.tsv"
EXTERNAL_CAUSES = tuple("VWXY")
_NON_WORD = re.compile(r"[^0-9a-z]+")
# Words that qualify a code's text without naming a different disease.
_FILLER = {"nos", "unspecified", "the", "of", "and", "with", "in", "a", "an"}


@dataclass(frozen=True)
class Term:
    """A text that names ``code``; ``source`` is where it comes from (see ``SOURCES``)."""

    text: str
    code: str
    source: str


SOURCES = ("doid_name", "doid_synonym", "icd_description", "icd_inclusion", "icd_includes")


def singular(word: str) -> str:
    """A naive English singular, enough to match "cancers" with "cancer" and "polyps" with "polyp"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "as")):
        return word[:-1]
    return word


def normalise(text: str) -> str:
    """The key two texts must share to match exactly: lower case, punctuation and filler words
    ("unspecified", "NOS", "of", ...) removed, each word singular, words sorted (so "cancer of
    the colon" matches "colon cancer"'s words in any order only when the words are the same)."""
    words = [singular(w) for w in _NON_WORD.split(text.lower().replace("'s ", " ")) if w and w not in _FILLER]
    return " ".join(sorted(words))


def icd_version() -> str:
    """The simple-icd-10-cm package version and the ICD-10-CM release it ships."""
    return f"simple-icd-10-cm {version('simple-icd-10-cm')}"


def in_scope(code: str, prefixes: Sequence[str] = ()) -> bool:
    """Whether the index covers ``code``: a category or subcategory without a 7th character,
    outside the external causes, and (when given) starting with one of ``prefixes``."""
    if not codeset().is_category_or_subcategory(code) or code.startswith(EXTERNAL_CAUSES):
        return False
    if len(code.replace(".", "")) >= 7:
        return False
    return not prefixes or code.startswith(tuple(prefixes))


def icd_terms(prefixes: Sequence[str] = ()) -> list[Term]:
    """Descriptions, inclusion terms and "includes" notes of every code in scope."""
    terms = []
    for code in codeset().get_all_codes(True):
        if not in_scope(code, prefixes):
            continue
        terms.append(Term(codeset().get_description(code), code, "icd_description"))
        terms += [Term(t, code, "icd_inclusion") for t in codeset().get_inclusion_term(code)]
        terms += [Term(t, code, "icd_includes") for t in codeset().get_includes(code)]
    return terms


def read_doid(path: str | Path | None = None) -> tuple[list[Term], dict[str, str]]:
    """Disease Ontology terms (shipped file by default) and the file's header fields."""
    if path is None:
        text = resources.files("nercore.codes").joinpath(DOID_RESOURCE).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    header: dict[str, str] = {}
    terms = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            header[key.strip()] = value.strip()
            continue
        if not line.strip() or line.startswith("doid\t"):
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise ValueError(
                f"{path or DOID_RESOURCE}:{number}: expected 4 fields (doid, kind, term, codes), got {len(fields)}"
            )
        _doid, kind, term, codes = fields
        terms += [Term(term, code, f"doid_{kind}") for code in codes.split("|")]
    return terms, header


def all_terms(prefixes: Sequence[str] = (), doid: str | Path | None = None) -> list[Term]:
    """Every term of the index, Disease Ontology first, duplicates (same text and code) removed."""
    doid_terms, _ = read_doid(doid)
    seen, out = set(), []
    for term in [t for t in doid_terms if not prefixes or t.code.startswith(tuple(prefixes))] + icd_terms(prefixes):
        key = (term.text.lower(), term.code)
        if key not in seen:
            seen.add(key)
            out.append(term)
    return out


def derive_doid(rows: Iterable[dict], version: str) -> tuple[list[str], int]:
    """Lines of ``codes/data/doid_icd10cm.tsv`` from Disease Ontology rows (``doid_terms.tsv``), and
    the number of cross-references dropped because the code is not in this ICD-10-CM release."""
    lines = [
        "# source: Human Disease Ontology (https://disease-ontology.org, "
        "github.com/DiseaseOntology/HumanDiseaseOntology)",
        f"# version: {version}",
        "# licence: CC0 1.0 Universal (public domain dedication)",
        "# derived: names and synonyms of the terms with an ICD-10-CM cross-reference, "
        "by python -m nercore.cli.code_terms",
        "doid\tkind\tterm\tcodes",
    ]
    dropped = 0
    for row in rows:
        codes = []
        for xref in row["xrefs"].split("|"):
            if xref.startswith("ICD10CM:"):
                code = xref.removeprefix("ICD10CM:")
                if codeset().is_valid_item(code):
                    codes.append(code)
                else:
                    dropped += 1
        if not codes:
            continue
        names = [("name", row["name"])] + [("synonym", s) for s in row["synonyms"].split("|") if s.strip()]
        for kind, name in names:
            name = " ".join(name.split())
            lines.append(f"{row['doid']}\t{kind}\t{name}\t{'|'.join(sorted(set(codes)))}")
    return lines, dropped
