"""Abbreviations: definitions a note makes ("myotonic dystrophy (DM)") and common clinical usage.

The definition finder is the Schwartz & Hearst (2003) algorithm ("A simple algorithm for
identifying abbreviation definitions in biomedical text", PSB 2003): a short form in parentheses
after its long form, whose characters appear in order in the long form, the first one at the start
of a word. Where a note defines nothing, ``codes/data/abbreviations.tsv`` gives the usual clinical
expansion (readable data that users extend; ambiguous abbreviations are left out on purpose).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

_PAREN = re.compile(r"\(([^()]{1,60})\)")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
_WORD_SPLIT = re.compile(r"\s+")


@dataclass(frozen=True)
class Definition:
    """A short form defined in a text: ``short`` at ``position`` stands for ``long``."""

    short: str
    long: str
    position: int


def _is_short_form(candidate: str) -> bool:
    words = candidate.split()
    if not 1 <= len(words) <= 2 or not 2 <= len(candidate) <= 10:
        return False
    return candidate[0].isalnum() and any(ch.isalpha() for ch in candidate)


def best_long_form(short: str, long: str) -> str | None:
    """The shortest tail of ``long`` that holds the characters of ``short`` in order (Schwartz-Hearst).

    Args:
        short: the abbreviation, e.g. "DM".
        long: the text before the parenthesis (a few words), e.g. "patients with myotonic dystrophy".

    Returns:
        The long form ("myotonic dystrophy"), or None when the characters cannot be matched with
        the first one at the start of a word.
    """
    s, i = len(short) - 1, len(long) - 1
    while s >= 0:
        ch = short[s].lower()
        if not ch.isalnum():
            s -= 1
            continue
        # The first character of the short form must begin a word of the long form.
        while i >= 0 and (long[i].lower() != ch or (s == 0 and i > 0 and long[i - 1].isalnum())):
            i -= 1
        if i < 0:
            return None
        i -= 1
        s -= 1
    start = long.rfind(" ", 0, i + 1) + 1
    result = long[start:].strip()
    if len(result) <= len(short) or short.lower() in result.lower().split():
        return None
    return result


def initials_long_form(short: str, long: str) -> str | None:
    """The last words of ``long`` whose initials are the letters of ``short`` in another order.

    Schwartz-Hearst needs the letters in order; clinical and biomedical text also writes Latin or
    reordered short forms: "myotonic dystrophy (DM)" (dystrophia myotonica).
    """
    letters = sorted(ch.lower() for ch in short if ch.isalpha())
    words = long.split()
    if len(letters) < 2 or len(words) < len(letters):
        return None
    tail = words[-len(letters) :]
    if sorted(word[0].lower() for word in tail) != letters:
        return None
    return " ".join(tail)


def find_definitions(text: str) -> list[Definition]:
    """Every "long form (SF)" definition in a text, in order of the short form's position."""
    found = []
    for match in _PAREN.finditer(text):
        short = match.group(1).strip()
        # "(DM; see below)", "(DM, 1998)": the short form is the first part.
        short = re.split(r"[;,]\s", short)[0].strip()
        if not _is_short_form(short):
            continue
        before = text[max(0, match.start() - 200) : match.start()].rstrip()
        words = _WORD_SPLIT.split(before)
        # Schwartz & Hearst: at most min(|SF| + 5, 2 |SF|) words of the long form.
        window = " ".join(words[-min(len(short) + 5, 2 * len(short)) :])
        long = best_long_form(short, window) or initials_long_form(short, window)
        if long is not None:
            found.append(Definition(short, long, match.start(1)))
    return found


def load_usage(path: str | Path | None = None) -> dict[str, str]:
    """Short form → clinical expansion from a TSV (``short<TAB>long``, ``#`` comments)."""
    text = (
        Path(path).read_text(encoding="utf-8")
        if path
        else resources.files("nercore.codes").joinpath("data/abbreviations.tsv").read_text(encoding="utf-8")
    )
    usage = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise ValueError(
                f"{path or 'abbreviations.tsv'}:{number}: expected 'short<TAB>long', got {len(parts)} fields"
            )
        usage[parts[0].strip()] = parts[1].strip()
    return usage


class Abbreviations:
    """Expands abbreviations in mentions of one text: its own definitions first, then usage.

    Args:
        text: the whole note (definitions are looked for in it).
        usage: short form → expansion for abbreviations the note does not define.
    """

    def __init__(self, text: str, usage: dict[str, str]):
        definitions = find_definitions(text)
        self._positions: dict[str, list[int]] = {}
        self._longs: dict[str, list[str]] = {}
        for d in definitions:
            self._positions.setdefault(d.short, []).append(d.position)
            self._longs.setdefault(d.short, []).append(d.long)
        self._usage = usage

    def long_form(self, short: str, position: int) -> str | None:
        """The expansion of ``short`` as used at ``position``: the nearest definition before it
        in the text (else the first after it), else clinical usage, else None."""
        for key in (short, short.rstrip("s") if short.endswith("s") and len(short) > 2 else None):
            if key and key in self._positions:
                positions = self._positions[key]
                index = bisect.bisect_right(positions, position) - 1
                return self._longs[key][max(index, 0)]
        return self._usage.get(short)

    def expand(self, mention: str, position: int) -> str:
        """The mention with each known abbreviation replaced by its long form ("type 2 DM" →
        "type 2 diabetes mellitus"); the mention itself when nothing is known."""
        out, last = [], 0
        for match in _TOKEN.finditer(mention):
            token = match.group(0)
            if not any(ch.isupper() for ch in token) and token not in self._positions:
                continue  # abbreviations are written in capitals (or defined as written)
            long = self.long_form(token, position + match.start())
            if long is None or long.lower() in mention.lower():
                continue
            out += [mention[last : match.start()], long]
            last = match.end()
        return "".join(out + [mention[last:]]) if out else mention


def expand_all(text: str, spans: Iterable[tuple[int, int]], usage: dict[str, str]) -> list[str]:
    """Expanded mention text for each ``(start, end)`` span of ``text``."""
    abbreviations = Abbreviations(text, usage)
    return [abbreviations.expand(text[start:end], start) for start, end in spans]
