"""Pipelines: steps (`@knot.step`), the DAG a pipeline body traces, the step cache,
executors (in-process, process pool, Ray) and the record of every execution."""
