"""A fake tagger and handler for pipeline tests: keyword matching, no model."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from beam_jobs.handler import TaggerModelHandler
from nercore.context.engine import default_finder
from nercore.entity import Entity
from nercore.sources import DEFAULT_MODEL_DIR, folder_version
from nercore.tagging.results import TaggedTexts, TagResult

KEYWORDS = {"pneumonia": "Disease", "amoxicillin": "Chemical", "sepsis": "Disease"}
BOOM = "EXPLODE"  # a note containing this word makes the fake tagger raise


class FakeTagger:
    """Keyword matches as entities; their context from the real ``nercore.context.engine`` rules."""

    name = "fake"
    # The bundled model's version, which the launcher records when no --model is given: an
    # incremental night then finds the fake's notes as tagged by "this" model.
    version = folder_version(DEFAULT_MODEL_DIR)
    device = "cpu"
    precision = "fake32"

    def __init__(self, context: bool = True, codes: bool = False, codes_k: int = 5, crash_on: str | None = None):
        from nercore.codes.linker import CodeLinker

        self.crash_on = crash_on
        self.context = default_finder() if context else None
        self.linker = CodeLinker.load(k=codes_k) if codes else None  # the tests' small index ($NERCORE_CODE_INDEX)

    def tag_detailed(self, texts):
        if self.crash_on is not None and any(self.crash_on in t for t in texts):
            os._exit(17)  # the worker process dies, as on a segfault or the OOM killer
        if any(BOOM in t for t in texts):
            raise RuntimeError("fake failure")
        out = []
        for text in texts:
            entities = [
                Entity(
                    entity_type=KEYWORDS[m.group(0).lower()],
                    start_char=m.start(),
                    end_char=m.end(),
                    text=m.group(0),
                    score=0.5 + 0.01 * (m.start() % 7),
                )
                for m in re.finditer(r"(?i)\b(" + "|".join(KEYWORDS) + r")\b", text)
            ]
            if self.context is not None:
                entities = self.context.apply(text, entities)
            if self.linker is not None:
                entities = self.linker.apply([text], [entities])[0]
            out.append(
                TagResult(
                    entities=entities,
                    windows=1 + len(text) // 1000,
                    tokens=len(text.split()),
                    precision=self.precision,
                    model_version=self.version,
                )
            )
        return out

    def tag_columns(self, texts):
        return TaggedTexts.from_results(
            self.tag_detailed(texts), context=self.context is not None, linked=self.linker is not None
        )


class FakeHandler(TaggerModelHandler):
    def __init__(self, context: bool = True, codes: bool = False, codes_k: int = 5):
        super().__init__(None, context=context, codes=codes, codes_k=codes_k)

    def load_model(self):
        return FakeTagger(self.spec.context, bool(self.spec.codes), self.spec.codes_k)


@dataclass(frozen=True)
class FakeSpec:
    """A picklable stand-in for ``job_core.inference.TaggerSpec`` (Spark's workers call ``load()``).

    ``crash_on``: a word whose tagging ends the worker process (``os._exit``), so every attempt of
    its task fails.
    """

    context: bool = True
    codes: bool = False
    codes_k: int = 5
    crash_on: str | None = None

    def load(self):
        return FakeTagger(self.context, self.codes, self.codes_k, crash_on=self.crash_on)
