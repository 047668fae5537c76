"""A recommender's whole lifecycle on MovieLens (`make demo-recommender`): feature views
defined once and materialized online, a point-in-time training set, two tracked and
registered models (genre-based, then rating-based collaborative filtering), served by
`knot serve` from user ids alone as top-10 movies with scores, an A/B split between them
judged by a significance test on live NDCG@10, ranking metrics per version, a rollback
when the new model does not win, monitoring of the served features (drift and skew),
and the retrain loop when new ratings arrive."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("KNOT_HOME", tempfile.mkdtemp(prefix="knot-movielens-"))

from recs_data import load, split_later, with_ratings, write_sources  # noqa: E402
from recs_models import GenreModel, PureSVD  # noqa: E402
from recs_retrain import RATINGS  # noqa: E402

import knot  # noqa: E402
import knot.features as kf  # noqa: E402
from knot.monitoring.performance.ab_test import ab_test  # noqa: E402
from knot.monitoring.performance.ranking import ndcg_at_k, ranking_metrics  # noqa: E402
from knot.serving.rollback import rollback  # noqa: E402

MODEL, K = "movielens-recs", 10
HOME = Path(os.environ["KNOT_HOME"])


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def define_features(users: Path, movies: Path, genre_names: list[str]) -> None:
    user_features = [("user_rating_count", "int64"), ("user_rating_mean", "float64"),
                     ("user_days_since_prev", "float64")] + [(g, "float64") for g in genre_names]  # fmt: skip  # noqa: E501
    applied = kf.apply(
        [
            kf.FeatureView(
                "user_stats",
                ["user_id"],
                "ts",
                user_features,
                str(users),
                owner="recs",
                description="a user's ratings so far and genre shares",
            ),
            kf.FeatureView(
                "movie_stats",
                ["movie_id"],
                "ts",
                [("movie_rating_count", "int64"), ("movie_rating_mean", "float64")],
                str(movies),
                owner="recs",
                description="a movie's ratings so far",
            ),
            kf.FeatureService("recs", ["user_stats"], owner="recs"),
        ]
    )
    say("feature views: " + ", ".join(f"{a.name} v{a.version}" for a in applied))
    for m in kf.materialize():
        say(f"materialized {m.view}: {m.rows:,} entities online (generation {m.generation})")


def offline_metrics(model: Any, users: list[int], online: dict[int, dict[str, Any]],
                    relevant: dict[int, set[int]], popularity: dict[int, int]) -> dict[str, float]:  # fmt: skip  # noqa: E501
    lists = {u: model.recommend(u, online[u])["items"] for u in users}
    m = ranking_metrics(lists, {u: relevant[u] for u in users}, K, catalog=model.items,
                        popularity=popularity, users=len(online))  # fmt: skip
    return {k: v for k, v in m.as_dict().items() if v is not None}


def train_and_register(data: Any) -> tuple[int, int]:
    users = sorted(set(data.future.loc[data.future.rating >= 4, "user_id"]))
    relevant = {
        u: set(g.movie_id) for u, g in data.future[data.future.rating >= 4].groupby("user_id")
    }
    rows = kf.get_online_features(
        "recs", [{"user_id": u} for u in sorted(data.train.user_id.unique())]
    )
    online = {r["user_id"]: r for r in rows}
    popularity = data.train.groupby("movie_id").size().to_dict()
    example = pd.DataFrame(rows[:2])
    # the users' features as the models were trained: the reference served ones drift from
    knot.register_dataset("movielens-user-features", pd.DataFrame(rows))
    labels = data.train[["user_id", "movie_id", "rating"]].assign(event_timestamp=data.train.ts)

    knot.register_dataset(RATINGS, data.train)  # version 1: the ratings so far
    with knot.start_run(experiment="movielens", name="genre") as run:
        knot.load_dataset(RATINGS)  # lineage: the ratings the model learned from
        training = kf.training_set(labels, ["user_stats", "movie_stats"])
        say(f"point-in-time training set: {len(training):,} rows x {training.shape[1]} columns")
        genre = GenreModel(data.genre_names, K).fit(training, data.genres, data.train)
        run.log_params({"model": "genre", "k": K})
        run.log_metrics(offline_metrics(genre, users, online, relevant, popularity))
        v_genre = knot.log_model(genre, registered_model_name=MODEL, input_example=example)
    with knot.start_run(experiment="movielens", name="puresvd") as run:
        mf = PureSVD(factors=50, k=K).fit(knot.load_dataset(RATINGS))
        run.log_params({"model": "puresvd", "factors": 50, "k": K})
        run.log_metrics(offline_metrics(mf, users, online, relevant, popularity))
        v_mf = knot.log_model(mf, registered_model_name=MODEL, input_example=example)
    for v in (v_genre, v_mf):
        kf.bind_model(MODEL, v.version, "recs")
    knot.set_alias(MODEL, "champion", v_genre.version)
    knot.set_alias(MODEL, "champion", v_mf.version)  # the new model takes over...
    knot.set_alias(MODEL, "challenger", v_genre.version)  # ...and the old one is arm B
    for r in knot.search_runs(experiment="movielens"):
        got = {k: m.latest for k, m in r.metrics.items()}
        say(
            f"run {r.name}: offline ndcg@10 {got['ndcg_at_10']:.4f}, precision@10 "
            f"{got['precision_at_10']:.4f}, coverage {got['coverage_at_10']:.3f}"
        )
    return v_mf.version, v_genre.version


class Service:
    """`knot serve` champion + challenger at 50/50, sticky per user."""

    def __init__(self) -> None:
        with socket.socket() as sock:  # a port nothing listens on
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        }
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "knot"), "serve", f"models:/{MODEL}@champion",
             "--challenger", f"models:/{MODEL}@challenger", "--weight", "0.5",
             "--poll", "0.2", "--port", self.url.rsplit(":", 1)[1],
             "--log-dir", str(HOME / "predictions")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(1200):
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("knot serve did not become ready")

    def recommend(self, client: httpx.Client, user: int) -> dict[str, Any]:
        answer = client.post("/predict", json={"inputs": [{"user_id": user}]},
                             headers={"x-knot-route-key": str(user)})  # fmt: skip
        answer.raise_for_status()
        return answer.json()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)


def follow(client: httpx.Client, version: int) -> None:
    """Wait until the service answers with `version` as champion (it follows the alias)."""
    for _ in range(600):
        if client.get("/ready").json()["models"]["champion"]["version"] == version:
            say(f"the service follows: champion is v{version}")
            return
        time.sleep(0.1)
    raise RuntimeError(f"the service did not switch to v{version}")


def ab_round(service: Service, client: httpx.Client, data: Any, relevant: dict[int, set[int]],
             champion: int, challenger: int) -> str:  # fmt: skip
    """Every user with later ratings asks once (sticky by user id); per version ranking
    metrics, then the A/B test on NDCG@10: A the champion, B the challenger."""
    per_version: dict[int, dict[int, list[int]]] = {champion: {}, challenger: {}}
    for user in sorted(relevant):
        answer = service.recommend(client, user)
        per_version[answer["model_version"]][user] = answer["predictions"][0]["items"]
    popularity = data.train.groupby("movie_id").size().to_dict()
    for version, lists in per_version.items():
        m = ranking_metrics(lists, {u: relevant[u] for u in lists}, K,
                            catalog=data.genres.movie_id, popularity=popularity,
                            users=data.train.user_id.nunique())  # fmt: skip
        shown = ", ".join(
            f"{k.rsplit('_at_', 1)[0]} {v:.4f}" for k, v in m.as_dict().items() if v is not None
        )
        say(f"live v{version} ({len(lists)} users): {shown}")
    ndcg = {v: [ndcg_at_k(items, relevant[u], K) or 0.0 for u, items in lists.items()]
            for v, lists in per_version.items()}  # fmt: skip
    result = ab_test(ndcg[champion], ndcg[challenger], effect=0.04, metric="ndcg@10")
    say(f"A/B (A = champion v{champion}, B = challenger v{challenger}): {result.summary()}")
    return result.decision


def monitor_served() -> None:
    """`knot monitor run`'s pass over the served features: drift against the users'
    features at training time, skew against the point-in-time offline values, stored per
    window, and an alert rule on skew."""
    from knot.monitoring.monitor_config import apply_config, parse_config
    from knot.monitoring.monitor_run import monitor_run

    rule = {"name": "recs-skew", "metric": "skew.share", "op": ">", "threshold": 0,
            "window": "1d"}  # fmt: skip
    apply_config(parse_config({"model": MODEL, "window": "1d", "rules": [rule],
                               "reference": "dataset:movielens-user-features@1"}))  # fmt: skip
    result = monitor_run(MODEL, window="1d")
    for s in result.skew:
        say(f"skew v{s.version}: {len(s.skewed)} of {len(s.mismatched)} features differ in "
            f"{s.rows} served rows from the offline values of {s.service}")  # fmt: skip
    for d in result.drift:
        drifted = ", ".join(d.report.drifted_columns[:3]) or "none"
        say(f"drift v{d.version}: {len(d.report.drifted_columns)} of {len(d.report.columns)} "
            f"served features against {d.reference} ({drifted})")  # fmt: skip
    say(f"alerts fired: {', '.join(e.rule for e in result.events) or 'none'}")


def new_ratings_retrain(data: Any) -> None:
    """New ratings arrive as version 2 of the ratings dataset; the retrain loop
    (loop.yaml) retrains, compares the challenger with the champion by NDCG@10 on the
    held-out later ratings, and promotes it or keeps the champion."""
    from knot.loop.config import load_loop_config
    from knot.loop.controller import Controller

    new, held_out = split_later(data)
    knot.register_dataset("movielens-holdout", held_out[["user_id", "movie_id", "rating"]])
    controller = Controller(load_loop_config(HERE / "loop.yaml"), say=lambda m: say(f"loop: {m}"))
    controller.run(once=True)
    say(f"retrain loop idle: no new ratings beyond {RATINGS}@1, the champion's")
    grown = with_ratings(data, new)
    added = knot.register_dataset(RATINGS, grown.train)
    say(f"{len(new):,} new ratings arrive: {added.ref} ({len(grown.train):,} ratings)")
    write_sources(grown, HOME / "sources")
    # in full: the new ratings are later for each user, not later than every old one
    for m in kf.materialize(full=True):
        say(f"materialized {m.view}: {m.rows:,} entities (generation {m.generation})")
    controller.run(once=True)
    done = controller.loop.list_retrains(MODEL)[-1]
    champion = knot.get_model_version(f"models:/{MODEL}@champion").version
    say(f"retrain {done.status}: the champion is v{champion}")


def main() -> None:
    started = time.monotonic()
    say(f"KNOT_HOME={HOME}")
    data = load()
    say(f"MovieLens: {len(data.train):,} past ratings, {len(data.future):,} later ones")
    users_file, movies_file = write_sources(data, HOME / "sources")
    define_features(users_file, movies_file, data.genre_names)
    v_mf, v_genre = train_and_register(data)
    liked = data.future[data.future.rating >= 4]
    relevant = {u: set(g.movie_id) for u, g in liked.groupby("user_id")}
    service = Service()
    say(f"knot serve at {service.url}: champion v{v_mf} (PureSVD), challenger v{v_genre} (genre)")
    with httpx.Client(base_url=service.url, timeout=30) as client:
        first = service.recommend(client, 7)
        say(f"user 7 -> {first['predictions'][0]['items'][:5]}... (v{first['model_version']})")
        decision = ab_round(service, client, data, relevant, v_mf, v_genre)
        if decision == "A":
            say("PureSVD wins and stays champion; then a retrain goes wrong (2 factors, not 50)")
            with knot.start_run(experiment="movielens", name="puresvd-retrain") as run:
                hurried = PureSVD(factors=2, k=K).fit(knot.load_dataset(RATINGS))  # gone wrong
                run.log_params({"model": "puresvd", "factors": 2, "k": K})
                v_bad = knot.log_model(hurried, registered_model_name=MODEL,
                                       input_example=pd.DataFrame(kf.get_online_features("recs", [{"user_id": 1}])))  # fmt: skip  # noqa: E501
            kf.bind_model(MODEL, v_bad.version, "recs")
            knot.set_alias(MODEL, "champion", v_bad.version)
            follow(client, v_bad.version)
            decision = ab_round(service, client, data, relevant, v_bad.version, v_genre)
        if decision != "A":
            target = v_genre if decision == "B" else None
            back = rollback(MODEL, "champion", target)
            say(f"the champion did not win: rollback, champion -> v{back.version}")
            follow(client, back.version)
    service.stop()
    monitor_served()
    new_ratings_retrain(data)
    lineage = knot.lineage(f"models:/{MODEL}/{v_genre}", direction="up")
    say("lineage of the genre model: " + ", ".join(sorted({n.kind for n in lineage.nodes})))
    say(f"done in {time.monotonic() - started:.0f} s; the store is in {HOME}")


if __name__ == "__main__":
    main()
