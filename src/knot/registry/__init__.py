"""The model registry: models, versions, aliases, promotion policies and model cards."""
