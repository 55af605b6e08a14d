"""Beam pipelines over nercore: thin adapters that read notes, tag them and write entity tables."""

__version__ = "0.1.0"
