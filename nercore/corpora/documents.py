"""Readers for labelled data: CoNLL-style TSV and PubTator documents."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from nercore.labels import bio_spans, parse_tag, to_bio

# PubTator types that the NCBI-disease corpus uses; all of them are diseases.
PUBTATOR_TYPE_MAP = {
    "SpecificDisease": "Disease",
    "DiseaseClass": "Disease",
    "CompositeMention": "Disease",
    "Modifier": "Disease",
    "Disease": "Disease",
    "Chemical": "Chemical",
}


class DataError(ValueError):
    """A labelled file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Sentence:
    """Tokens with BIO tags."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]

    def token_starts(self) -> list[int]:
        """Character offset of each token in the tokens joined by single spaces."""
        starts, pos = [], 0
        for token in self.tokens:
            starts.append(pos)
            pos += len(token) + 1
        return starts

    def text_and_spans(self) -> tuple[str, list[tuple[str, int, int]]]:
        """The tokens joined by single spaces, and the gold entities as character spans."""
        starts = self.token_starts()
        text = " ".join(self.tokens)
        spans = [(t, starts[s], starts[e - 1] + len(self.tokens[e - 1])) for t, s, e in bio_spans(self.tags)]
        return text, spans


@dataclass(frozen=True)
class Document:
    """A raw text with gold entities as ``(type, start_char, end_char)``."""

    doc_id: str
    text: str
    spans: tuple[tuple[str, int, int], ...]


def _blocks(path: Path) -> Iterator[list[tuple[int, str]]]:
    """Groups of non-blank ``(line number, line)`` separated by blank lines."""
    block: list[tuple[int, str]] = []
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            line = raw.rstrip("\r\n")
            if line.strip():
                block.append((number, line))
            elif block:
                yield block
                block = []
    if block:
        yield block


def read_conll(path: str | Path) -> list[Sentence]:
    """Read ``token<TAB>tag`` lines, a blank line between sentences (BIO, IOB1 or BIOES).

    Raises:
        DataError: empty file, a line without a tab, or a malformed tag (file and line named).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    sentences: list[Sentence] = []
    for block in _blocks(path):
        tokens, tags = [], []
        for number, line in block:
            if line.startswith("-DOCSTART-"):
                continue
            parts = line.split("\t")
            if len(parts) < 2 or not parts[0]:
                raise DataError(f"{path}:{number}: expected 'token<TAB>tag', got a line with {len(parts)} field(s)")
            tag = parts[-1].strip()
            try:
                parse_tag(tag)
            except ValueError:
                raise DataError(f"{path}:{number}: unknown or malformed tag {tag[:40]!r}") from None
            tokens.append(parts[0])
            tags.append(tag)
        if tokens:
            sentences.append(Sentence(tuple(tokens), tuple(to_bio(tags))))
    if not sentences:
        raise DataError(f"{path}: empty file (no sentences)")
    return sentences


def read_pubtator(
    path: str | Path, type_map: dict[str, str] | None = None, keep_unknown: bool = False
) -> list[Document]:
    """Read PubTator documents (one block each); the text is ``title + " " + abstract`` (the
    title alone when the abstract is empty).

    Args:
        type_map: mention type → entity type (default ``PUBTATOR_TYPE_MAP``).
        keep_unknown: a type outside the map keeps its own name instead of being an error.

    Raises:
        DataError: empty file or a malformed line (file and line named).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    type_map = PUBTATOR_TYPE_MAP if type_map is None else type_map
    docs: list[Document] = []
    for block in _blocks(path):
        doc_id, parts_of_text, spans = None, {"t": "", "a": ""}, set()
        for number, line in block:
            head = line[:40]
            if "|t|" in head or "|a|" in head:
                doc_id, kind, body = line.split("|", 2)
                parts_of_text[kind] = body
                continue
            fields = line.split("\t")
            if doc_id is None or len(fields) < 5:
                raise DataError(f"{path}:{number}: expected an annotation 'id<TAB>start<TAB>end<TAB>mention<TAB>type'")
            try:
                start, end = int(fields[1]), int(fields[2])
            except ValueError:
                raise DataError(f"{path}:{number}: expected integer offsets") from None
            kind = type_map.get(fields[4], fields[4] if keep_unknown else None)
            if kind is None:
                raise DataError(f"{path}:{number}: unknown entity type {fields[4][:40]!r}")
            spans.add((kind, start, end))
        if doc_id is not None:
            text = parts_of_text["t"] + " " + parts_of_text["a"] if parts_of_text["a"] else parts_of_text["t"]
            docs.append(Document(doc_id, text, tuple(sorted(spans, key=lambda s: (s[1], s[2], s[0])))))
    if not docs:
        raise DataError(f"{path}: empty file (no documents)")
    return docs


def join_sentences(sentences: Sequence[Sentence], per_document: int) -> list[Document]:
    """Consecutive sentences joined by single spaces into documents of ``per_document`` each.

    CoNLL files keep sentences in document order, so this rebuilds long, realistic texts from
    them, for scoring how a model does on windows full of context. Gold spans are shifted to
    the joined text.
    """
    if per_document < 1:
        raise ValueError(f"expected per_document >= 1, got {per_document}")
    docs = []
    for first in range(0, len(sentences), per_document):
        parts, spans, offset = [], [], 0
        for sentence in sentences[first : first + per_document]:
            text, gold = sentence.text_and_spans()
            spans.extend((kind, start + offset, end + offset) for kind, start, end in gold)
            parts.append(text)
            offset += len(text) + 1
        docs.append(Document(f"sentences-{first}", " ".join(parts), tuple(spans)))
    return docs
