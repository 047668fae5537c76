"""The recommender's retraining, run by the retrain loop (loop.yaml) when a new version
of the `movielens-ratings` dataset arrives: PureSVD fitted on every rating so far,
tracked, registered and bound to the `recs` feature service like the first one. The
loop then compares it with the champion by NDCG@10 on the held-out later ratings and
promotes it or keeps the champion."""

from __future__ import annotations

from typing import Any

import pandas as pd
from recs_models import PureSVD

RATINGS = "movielens-ratings"
MODEL = "movielens-recs"


def retrain(factors: int = 50, k: int = 10) -> Any:
    import knot
    import knot.features as kf

    with knot.start_run(experiment="movielens", name=f"puresvd-retrain-{factors}") as run:
        ratings = knot.load_dataset(RATINGS)  # the newest accepted version
        model = PureSVD(factors=factors, k=k).fit(ratings)
        run.log_params({"model": "puresvd", "factors": factors, "k": k,
                        "ratings": len(ratings)})  # fmt: skip
        example = kf.get_online_features("recs", [{"user_id": 1}])
        version = knot.log_model(
            model, registered_model_name=MODEL, input_example=pd.DataFrame(example)
        )
    kf.bind_model(MODEL, version.version, "recs")
    return version
