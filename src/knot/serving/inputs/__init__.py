"""What a model is given: float columns kept as one 2-D block (blocks), a plain array
where it takes one (array_input), and the features fetched online for a model served
from entity ids (feature_inputs)."""
