"""Beam pipelines over the job's core (``job_core``): thin adapters that read notes, tag them and write tables."""

from beam_jobs.quiet import import_beam_quietly

# Before any module of this package imports apache_beam (see beam_jobs.quiet).
import_beam_quietly()
