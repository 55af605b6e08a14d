"""Scorers of the tagger, the context rules and the linker; no training code is imported here."""

from nercore.evaluation.metrics import Evaluation, Scores

__all__ = ["Evaluation", "Scores"]
