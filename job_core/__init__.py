"""The job's core, shared by every engine (``beam_jobs``, ``spark_jobs``) and free of any engine API.

Options, input plans and validation, duplicate ids, tagging calls, rows and schemas, file writing
with attempt-unique names, the one commit, counts, summary, report and publish gate.
"""

__version__ = "0.1.0"
