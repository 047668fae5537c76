"""Validation rules of a dataset: the rule set (YAML or Python), its plan as SQL
aggregates, statistical checks against a reference profile, and the validation report."""
