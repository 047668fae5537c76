"""`knot audit`, `knot lineage` and `knot tokens`: lineage, the audit log, API tokens."""
