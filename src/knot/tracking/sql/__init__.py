"""The SQL statements behind SqlTrackingStore: run JSON, search, batched writes,
replay marks and metric summaries."""
