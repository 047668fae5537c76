"""Governance: the lineage graph and (soon) the audit log and access control, written
by every area in the same transaction as the change they record."""
