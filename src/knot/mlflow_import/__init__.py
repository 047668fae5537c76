"""`knot import mlflow`: copy an MLflow store (experiments, runs with their full metric
history, params, tags, artifacts, registered models, versions and aliases) into Knot's
store through the same store protocols every other door uses, resumably."""
