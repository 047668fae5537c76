"""The MovieLens example's retrain loop (examples/movielens/loop.yaml) on a small made-up
rating table: a new version of the ratings dataset retrains PureSVD, the challenger is
compared with the champion by NDCG@10 on held-out ratings, and promoted or kept; run
through the installed `knot` (exit codes) as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.cli.knot_process import ROOT, assert_check_failed, assert_error, assert_ok, run

EXAMPLE = ROOT / "examples" / "movielens"
MODEL = "movielens-recs"
USERS, MOVIES = 40, 30


def _ratings(seed: int, share: float) -> pd.DataFrame:
    """Two tastes: even users rate movies 0-14 high and the rest low, odd users the
    reverse; each (user, movie) pair is rated with probability `share`."""
    rng = np.random.default_rng(seed)
    rows = [
        (u, m, 5.0 if (u % 2 == 0) == (m < MOVIES // 2) else 1.0)
        for u in range(USERS)
        for m in range(MOVIES)
        if rng.random() < share
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"])
    frame["ts"] = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(len(frame)), "s")
    return frame


@pytest.fixture
def example_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The example's modules importable here (a `knot` subprocess imports them from the
    pipeline's file path, see _config)."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    yield
    for name in ("recs_retrain", "recs_models"):
        sys.modules.pop(name, None)


def _config(folder: Path, *changes: tuple[str, str]) -> Path:
    """The example's loop.yaml, naming its pipeline by file path, 4 factors (there are
    30 movies, not 50), with `changes` made."""
    text = (EXAMPLE / "loop.yaml").read_text()
    mine = [("recs_retrain:", f"{EXAMPLE / 'recs_retrain.py'}:"), ("factors: 50", "factors: 4")]
    for old, new in (*mine, *changes):
        assert old in text
        text = text.replace(old, new)
    config = folder / "loop.yaml"
    config.write_text(text)
    return config


@pytest.fixture
def recommender(knot_home: Path, tmp_path: Path, example_path: None) -> Path:
    """Champion v1: PureSVD with one factor on a sparse first version of the ratings,
    served from feature service `recs`; held-out ratings `movielens-holdout`."""
    from recs_retrain import RATINGS, retrain

    import knot
    import knot.features as kf

    users = tmp_path / "user_stats.parquet"
    pd.DataFrame(
        {"user_id": range(USERS), "ts": pd.Timestamp("2024-01-01", tz="UTC"),
         "user_rating_count": [10] * USERS}
    ).to_parquet(users)  # fmt: skip
    kf.apply(
        [
            kf.FeatureView("user_stats", "user_id", "ts", [("user_rating_count", "int64")],
                           str(users)),
            kf.FeatureService("recs", ["user_stats"]),
        ]
    )  # fmt: skip
    kf.materialize()
    knot.register_dataset(RATINGS, _ratings(0, 0.15))
    champion = retrain(factors=1)
    knot.set_alias(MODEL, "champion", champion.version)
    knot.register_dataset("movielens-holdout", _ratings(1, 0.5)[["user_id", "movie_id", "rating"]])
    return knot_home


def _words(done: subprocess.CompletedProcess[str]) -> str:
    """What the command said, its lines (wrapped to the terminal) joined."""
    return " ".join((done.stdout + done.stderr).split())


def _loop(home: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(home, *args, MODEL, "--config", str(config))


def test_new_ratings_retrain_and_the_better_model_is_promoted(
    recommender: Path, tmp_path: Path
) -> None:
    from recs_retrain import RATINGS

    import knot

    config = _config(tmp_path)
    idle = _loop(recommender, config, "loop", "run", "--once")
    assert_ok(idle)  # the champion was trained on version 1: nothing new
    assert "nothing triggered" in idle.stdout
    knot.register_dataset(RATINGS, _ratings(0, 0.6))  # many more ratings arrive
    done = _loop(recommender, config, "loop", "run", "--once")
    assert_ok(done)
    said = _words(done)
    assert "finished" in said
    assert "of movielens-recs started by dataset dataset=movielens-ratings@2" in said
    assert "movielens-recs/2 accepted against movielens-recs/1" in said
    assert knot.get_model_version(f"models:/{MODEL}@champion").version == 2
    from knot.loop.stores import loop_store

    (retrained,) = loop_store().list_retrains(MODEL)
    assert retrained.status == "promoted"


def test_a_challenger_that_does_not_beat_the_champion_is_rejected(
    recommender: Path, tmp_path: Path
) -> None:
    import knot

    # the same model again cannot improve NDCG@10 by 0.5: the champion stays
    config = _config(tmp_path, ("factors: 4", "factors: 1"), ("min_margin: 0.0", "min_margin: 0.5"))
    done = _loop(recommender, config, "retrain")
    assert_check_failed(done)
    assert "primary ndcg_at_10: challenger" in _words(done)
    assert "it must improve by 0.5 (min_margin)" in _words(done)
    assert knot.get_model_version(f"models:/{MODEL}@champion").version == 1


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (("metric: ndcg", "metric: auc"), "'auc' is not a ranking metric"),
        (("k: 10", "k: 0"), "ranking.k"),
        (
            ("ranking:", "evaluation: {dataset: d, label: y}\nranking:"),
            "set evaluation (a classifier's or regressor's metric) or ranking",
        ),
    ],
)
def test_a_bad_ranking_section_is_refused(
    knot_home: Path, tmp_path: Path, change: tuple[str, str], says: str
) -> None:
    done = _loop(knot_home, _config(tmp_path, change), "retrain")
    assert_error(done)  # refused as the file is read: nothing starts
    assert says in _words(done)


def test_a_held_out_table_without_the_relevance_column_fails_the_retrain(
    recommender: Path, tmp_path: Path
) -> None:
    import knot

    config = _config(tmp_path, ("relevance: rating", "relevance: stars"))
    done = _loop(recommender, config, "retrain")
    assert_error(done, narrated=True)
    assert "relevance column 'stars' is not in movielens-holdout@1" in _words(done)
    assert knot.get_model_version(f"models:/{MODEL}@champion").version == 1


def test_the_ranking_metric_is_the_mean_over_held_out_users(recommender: Path) -> None:
    """Checked by hand: each held-out user's NDCG@10 of the version's list, averaged; the
    version against itself is better by 0, which min_margin 0 accepts."""
    import knot
    from knot.gates.ranking_evaluate import RankingPolicy, evaluate_ranking
    from knot.monitoring.performance.ranking import ndcg_at_k

    policy = RankingPolicy(dataset="movielens-holdout", item="movie_id", relevance="rating",
                           min_relevance=4, metric="ndcg_at_10")  # fmt: skip
    found = evaluate_ranking(MODEL, 1, policy)
    held = knot.load_dataset("movielens-holdout")
    liked = held[held.rating >= 4]
    users = sorted(liked.user_id.unique())
    model = knot.load_model(f"models:/{MODEL}/1")
    answers = model.predict(pd.DataFrame({"user_id": users, "user_rating_count": 10}))
    expected = np.mean(
        [
            ndcg_at_k(a["items"], set(liked[liked.user_id == u].movie_id), 10)
            for u, a in zip(users, answers, strict=True)
        ]
    )
    (c,) = found.comparisons
    assert (c.metric, c.rows) == ("ndcg_at_10", len(users))
    assert c.challenger == pytest.approx(expected) and c.champion == pytest.approx(expected)
    assert found.passed and c.better_by == 0
    with pytest.raises(ValueError, match="metric ndcg_at_5 is not at k 10"):
        RankingPolicy(dataset="d", metric="ndcg_at_5")
