"""The night's tables in an Apache Iceberg warehouse (pyiceberg): landing files, one transaction per
table, the ``runs`` ledger row last. ``python -m job_core.warehouse`` shows what a warehouse holds."""
