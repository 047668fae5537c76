"""Gates a model must pass before it ships (`knot check`): data rules, quality against
the champion on the same held-out rows, and fairness across groups."""
