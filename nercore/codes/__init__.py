"""ICD-10-CM codes for Disease mentions: the linker, its code index, terms and abbreviations.

The shipped data (derived Disease Ontology terms, clinical abbreviations) sits in ``data/``.
"""

from nercore.codes.linker import CodeCandidate, CodeLinker

__all__ = ["CodeCandidate", "CodeLinker"]
