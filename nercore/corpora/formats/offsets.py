"""Offset units of JSON exports: code points (Python) or UTF-16 code units (JavaScript)."""

from __future__ import annotations

from nercore.corpora.annotations import utf16_to_codepoints
from nercore.corpora.documents import DataError


class OffsetConverter:
    """Maps a document's span offsets to code points, per ``ReadOptions.offsets``.

    In ``auto`` mode a span whose stored text matches neither reading keeps its offsets as code
    points and is flagged ``offset_mismatch`` (a problem ``--strict`` refuses).
    """

    def __init__(self, text: str, units: str, where: str):
        self.text = text
        self.units = units
        self.where = where
        self._map = utf16_to_codepoints(text)

    def utf16(self, offset: int) -> int:
        if self._map is None:
            return offset
        if not 0 <= offset < self._map.size or self._map[offset] < 0:
            raise DataError(f"{self.where}: offset {offset} is not a UTF-16 character boundary of the text")
        return int(self._map[offset])

    def __call__(self, start: int, end: int, stored_text: str | None = None) -> tuple[tuple[int, int], str]:
        """Code-point offsets of a span, and a flag: "", "utf16_converted" or "offset_mismatch"."""
        if self.units == "codepoints":
            return (start, end), ""
        if self.units == "utf16":
            return (self.utf16(start), self.utf16(end)), "utf16_converted" if self._map is not None else ""
        # auto: trust the stored mention text where the tool kept one.
        if stored_text is None or self.text[start:end] == stored_text:
            return (start, end), ""
        if self._map is not None:
            try:
                converted = self.utf16(start), self.utf16(end)
            except DataError:
                converted = None
            if converted is not None and self.text[converted[0] : converted[1]] == stored_text:
                return converted, "utf16_converted"
        return (start, end), "offset_mismatch"
