"""The forms a registered model version loads from quickly: its fast-load blob (a pickle
with a header naming the runtime it needs; knot.registry.forms.fast_load), the numpy form
of a linear scikit-learn model kept in that header (knot.registry.forms.linear_form), and
the local cache of model folders and loaded models (knot.registry.forms.model_cache)."""
