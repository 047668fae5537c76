"""MLflow's tracking, registry and artifact REST API, translated onto Knot's stores, so
MLflow's own client works unchanged against `knot server`: an MLflow experiment is a
Knot experiment, a run a Knot run, a registered model a Knot model, an artifact a Knot
run artifact. `api.router` holds every route; app.py includes it."""
