"""nercore: a BERT-CRF tagger for clinical and biomedical named entities (no Beam inside)."""

from nercore.entity import Entity
from nercore.tagger import Tagger

__all__ = ["Entity", "Tagger"]
__version__ = "0.1.0"
