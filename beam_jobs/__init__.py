"""Beam pipelines over nercore: thin adapters that read notes, tag them and write entity tables."""

from beam_jobs.quiet import import_beam_quietly

__version__ = "0.1.0"

# Before any module of this package imports apache_beam (see beam_jobs.quiet).
import_beam_quietly()
