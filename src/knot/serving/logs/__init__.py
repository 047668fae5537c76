"""What a prediction service writes down: the prediction log (Parquet by model, version
and day), the label log that `/feedback` appends to, and the checks labels pass first."""
