"""The nightly job on Apache Spark over the job's core (``job_core``): a session, one task per work
item, the model once per Python worker, and the driver's one commit."""
