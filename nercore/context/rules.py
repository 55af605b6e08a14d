"""The context rules as data: trigger phrases and section headers, read from TSV files.

The default files ship beside this module in ``nercore/context/data/`` (``triggers.tsv``,
``sections.tsv``); their header
comments explain every column. ``ContextRules.load`` reads them, or a user's own copies, and
checks every line: a bad line is a ``ValueError`` naming the file and line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

RULES_DIR = Path(__file__).with_name("data")
DEFAULT_TRIGGERS = RULES_DIR / "triggers.tsv"
DEFAULT_SECTIONS = RULES_DIR / "sections.tsv"

# category → (attribute it sets, value it sets)
TRIGGER_CATEGORIES = {
    "NEGATED": ("negation", "negated"),
    "POSSIBLE": ("negation", "possible"),
    "HISTORICAL": ("temporality", "historical"),
    "HYPOTHETICAL": ("temporality", "hypothetical"),
    "OTHER": ("experiencer", "other"),
}
DIRECTIONS = ("forward", "backward", "both")
ATTRIBUTE_VALUES = {
    "negation": ("affirmed", "negated", "possible"),
    "temporality": ("recent", "historical", "hypothetical"),
    "experiencer": ("patient", "other"),
}
DEFAULTS = {"negation": "affirmed", "temporality": "recent", "experiencer": "patient"}

# Words as the context engine sees them: runs of letters/digits (with inner apostrophes, so
# "doesn't" is one word) or single punctuation marks.
WORD = re.compile(r"\w+(?:'\w+)*|[^\w\s]")
YEAR = re.compile(r"(?:19|20)\d\d")


def normalise_word(word: str) -> str:
    """A word as triggers are matched: lower case; a year becomes <year>, other numbers <num>."""
    if word.isdigit():
        return "<year>" if len(word) == 4 and YEAR.fullmatch(word) else "<num>"
    return word.lower()


def phrase_words(phrase: str) -> tuple[str, ...]:
    """A trigger phrase as the word tuple it matches (``<year>``/``<num>`` kept as written)."""
    return tuple(
        w if w in ("<year>", "<num>") else normalise_word(w)
        for w in re.findall(r"<year>|<num>|" + WORD.pattern, phrase)
    )


@dataclass(frozen=True)
class Trigger:
    """One trigger phrase: what it sets, in which direction, over how many words."""

    words: tuple[str, ...]
    category: str  # a TRIGGER_CATEGORIES key, PSEUDO or TERMINATE
    direction: str | None  # forward | backward | both; None for PSEUDO and TERMINATE
    max_scope: int | None  # words; None: up to the sentence's end
    terminates: tuple[str, ...] = ()  # for TERMINATE: the categories it ends (all when empty)
    source: str = ""


@dataclass(frozen=True)
class SectionRule:
    header: str
    section: str
    implies: tuple[tuple[str, str], ...]  # (attribute, value)
    source: str = ""


@dataclass(frozen=True)
class ContextRules:
    """Everything the context engine knows, loaded from the two rule files."""

    triggers: tuple[Trigger, ...]
    sections: tuple[SectionRule, ...]
    by_words: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def load(cls, triggers: str | Path | None = None, sections: str | Path | None = None) -> ContextRules:
        """Read the trigger and section files (None: the shipped defaults).

        Raises:
            FileNotFoundError: a file is missing.
            ValueError: a line is malformed (the message names file and line).
        """
        trigger_rules = tuple(read_triggers(Path(triggers or DEFAULT_TRIGGERS)))
        section_rules = tuple(read_sections(Path(sections or DEFAULT_SECTIONS)))
        by_words: dict[tuple[str, ...], list[Trigger]] = {}
        for trigger in trigger_rules:
            by_words.setdefault(trigger.words, []).append(trigger)
        return cls(trigger_rules, section_rules, by_words)

    @property
    def longest(self) -> int:
        return max((len(words) for words in self.by_words), default=0)


def _rows(path: Path, columns: int):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) != columns:
            raise ValueError(f"{path}:{number}: expected {columns} tab-separated columns, got {len(cells)}")
        yield number, cells


def read_triggers(path: Path) -> list[Trigger]:
    """The trigger lines of ``path`` (columns: phrase, category, direction, max_scope, source)."""
    out = []
    for number, (phrase, category, direction, max_scope, source) in _rows(path, 5):
        where = f"{path}:{number}"
        words = phrase_words(phrase)
        if not words:
            raise ValueError(f"{where}: expected a phrase, got an empty one")
        terminates: tuple[str, ...] = ()
        if category.startswith("TERMINATE:"):
            terminates = tuple(c.strip() for c in category.split(":", 1)[1].split(","))
            unknown = [c for c in terminates if c not in TRIGGER_CATEGORIES]
            if unknown:
                raise ValueError(
                    f"{where}: expected TERMINATE:<one of {', '.join(TRIGGER_CATEGORIES)}>, got {category}"
                )
            category = "TERMINATE"
        if category not in TRIGGER_CATEGORIES and category not in ("PSEUDO", "TERMINATE"):
            raise ValueError(
                f"{where}: expected a category in {', '.join([*TRIGGER_CATEGORIES, 'PSEUDO', 'TERMINATE'])}, got "
                f"{category!r}"
            )
        if category in TRIGGER_CATEGORIES:
            if direction not in DIRECTIONS:
                raise ValueError(f"{where}: expected a direction in {', '.join(DIRECTIONS)}, got {direction!r}")
        elif direction != "-":
            raise ValueError(f"{where}: expected direction '-' for {category}, got {direction!r}")
        if max_scope != "-" and not (max_scope.isdigit() and int(max_scope) > 0):
            raise ValueError(f"{where}: expected max_scope '-' or a positive number of words, got {max_scope!r}")
        out.append(
            Trigger(
                words,
                category,
                None if direction == "-" else direction,
                None if max_scope == "-" else int(max_scope),
                terminates,
                source,
            )
        )
    return out


def read_sections(path: Path) -> list[SectionRule]:
    """The header lines of ``path`` (columns: header, section, implies, source)."""
    out = []
    for number, (header, section, implies, source) in _rows(path, 4):
        where = f"{path}:{number}"
        if not re.fullmatch(r"[a-z0-9_]+", section):
            raise ValueError(f"{where}: expected a section name of lower-case letters, digits and '_', got {section!r}")
        pairs = []
        if implies != "-":
            for pair in implies.split(","):
                attribute, _, value = pair.strip().partition("=")
                if value not in ATTRIBUTE_VALUES.get(attribute, ()):
                    raise ValueError(
                        f"{where}: expected implies like temporality=historical or experiencer=other, got "
                        f"{pair.strip()!r}"
                    )
                pairs.append((attribute, value))
        out.append(SectionRule(header.lower(), section, tuple(pairs), source))
    return out
