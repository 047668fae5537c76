"""Datasets: versions, schemas, validation rules and profiles."""
