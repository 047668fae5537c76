"""Serving: a registered model behind a lean HTTP service (micro-batching, signature
checks, champion/challenger traffic, shadow mode, hot swap when an alias moves, an
asynchronous Parquet prediction log and Prometheus metrics), batch scoring of files
and rollback of an alias."""
