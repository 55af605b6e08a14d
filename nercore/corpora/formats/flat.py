"""CoNLL and PubTator as annotated documents, and their writers."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from nercore.corpora.annotations import AnnotatedDocument, from_documents
from nercore.corpora.documents import DataError, Document, Sentence, read_conll, read_pubtator

TOKEN = re.compile(r"\w+|[^\w\s]")  # CoNLL output: words and single punctuation marks


def sentence_documents(sentences: Sequence[Sentence], prefix: str = "sentence") -> list[AnnotatedDocument]:
    """CoNLL sentences as documents: each its tokens joined by single spaces (``Sentence.text_and_spans``)."""
    return from_documents(Document(f"{prefix}-{i + 1}", *s.text_and_spans()) for i, s in enumerate(sentences))


def read_conll_documents(path: Path) -> tuple[list[AnnotatedDocument], Counter]:
    """Each sentence a document (``sentence_documents``)."""
    return sentence_documents(read_conll(path)), Counter()


def read_pubtator_documents(path: Path) -> tuple[list[AnnotatedDocument], Counter]:
    """PubTator documents; a type the NCBI/BC5CDR map does not know keeps its own name."""
    return from_documents(read_pubtator(path, keep_unknown=True)), Counter()


def write_pubtator(docs: list[Document], path: Path) -> None:
    """``id|t|`` the text up to its first space, ``id|a|`` the rest, so that reading joins them
    back with one space; texts with line breaks cannot be written."""
    blocks = []
    for doc in docs:
        if "\n" in doc.text or "\r" in doc.text or "|" in doc.doc_id:
            raise DataError(
                f"document {doc.doc_id}: PubTator holds one-line texts and ids without '|'; use another format"
            )
        title, _, abstract = doc.text.partition(" ")
        lines = [f"{doc.doc_id}|t|{title}", f"{doc.doc_id}|a|{abstract}"]
        lines += [f"{doc.doc_id}\t{s}\t{e}\t{doc.text[s:e]}\t{t}\t-" for t, s, e in doc.spans]
        blocks.append("\n".join(lines) + "\n")
    path.write_text("\n".join(blocks), encoding="utf-8")


def conll_tags(text: str, spans) -> tuple[list[str], list[str]]:
    """Tokens (``TOKEN``) of a text and their BIO tags; a span covers every token it touches."""
    tokens = [(m.start(), m.end()) for m in TOKEN.finditer(text)]
    tags = ["O"] * len(tokens)
    for kind, start, end in spans:
        inside = [i for i, (s, e) in enumerate(tokens) if s < end and start < e and tags[i] == "O"]
        for k, i in enumerate(inside):
            tags[i] = ("B-" if k == 0 else "I-") + kind
    return [text[s:e] for s, e in tokens], tags


def write_conll(docs: list[Document], path: Path) -> None:
    """One block per document (a blank line between); spans snapped to whole tokens."""
    blocks = []
    for doc in docs:
        tokens, tags = conll_tags(doc.text, doc.spans)
        if tokens:
            blocks.append("\n".join(f"{w}\t{t}" for w, t in zip(tokens, tags)))
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
