"""`knot monitor ...` and `knot feedback`: drift, performance, alerts."""
