"""The SDK side of logging: a background writer batches what a run logs, delivers the
batches in order, and spools them to a local file while the store cannot take them."""
