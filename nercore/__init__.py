"""nercore: a BERT-CRF tagger for clinical and biomedical named entities (no Beam inside)."""

from nercore.entity import Entity

__all__ = ["Entity", "Tagger"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # Tagger (and torch with it) is imported on first use, so that the pure-Python parts
    # (context, evaluation, readers) import without torch.
    if name == "Tagger":
        from nercore.tagger import Tagger

        return Tagger
    raise AttributeError(f"module 'nercore' has no attribute {name!r}")
