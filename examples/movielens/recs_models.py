"""The two recommenders. Both answer, per row of user ids (and the user's online
features), the top k unseen movies with scores: {"items": [...], "scores": [...]}.

- PureSVD: rating-based collaborative filtering, a truncated SVD of the user x movie
  rating matrix (NumPy/SciPy); a user it never saw gets the most popular movies.
- GenreModel: genre-based filtering, the user's genre shares (online features) matched
  with each movie's genres, weighted with the movie's mean rating by a least-squares fit
  on a point-in-time training set.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _top(scores: np.ndarray, seen: np.ndarray | None, items: np.ndarray, k: int) -> dict[str, Any]:
    scores = scores.astype(float).copy()
    if seen is not None and len(seen):
        scores[seen] = -np.inf
    best = np.argpartition(-scores, k)[:k]
    best = best[np.argsort(-scores[best])]
    return {"items": items[best].tolist(), "scores": np.round(scores[best], 5).tolist()}


class _Recommender:
    k = 10
    items: np.ndarray
    seen: dict[int, np.ndarray]

    def recommend(self, user: int, row: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def predict(self, frame: Any) -> np.ndarray:
        frame = pd.DataFrame(frame)
        out = np.empty(len(frame), dtype=object)
        for i, row in enumerate(frame.to_dict("records")):
            out[i] = self.recommend(int(row["user_id"]), row)
        return out


class PureSVD(_Recommender):
    def __init__(self, factors: int = 50, k: int = 10) -> None:
        self.factors = factors
        self.k = k

    def fit(self, ratings: pd.DataFrame) -> PureSVD:
        from scipy.sparse import csr_matrix
        from scipy.sparse.linalg import svds

        users = np.sort(ratings["user_id"].unique())
        self.items = np.sort(ratings["movie_id"].unique())
        u = np.searchsorted(users, ratings["user_id"])
        m = np.searchsorted(self.items, ratings["movie_id"])
        matrix = csr_matrix(
            (ratings["rating"].to_numpy(), (u, m)), shape=(len(users), len(self.items))
        )
        left, sigma, right = svds(matrix, k=self.factors, random_state=0)
        self.user_index = {int(x): i for i, x in enumerate(users)}
        self.user_factors = left * sigma
        self.item_factors = right.T
        self.popular = np.asarray((matrix > 0).sum(axis=0)).ravel().astype(float)
        self.seen = {int(x): m[u == i] for i, x in enumerate(users)}
        return self

    def recommend(self, user: int, row: dict[str, Any]) -> dict[str, Any]:
        i = self.user_index.get(user)
        if i is None:
            return _top(self.popular, None, self.items, self.k)
        return _top(self.user_factors[i] @ self.item_factors.T, self.seen[user], self.items, self.k)


class GenreModel(_Recommender):
    def __init__(self, genre_names: list[str], k: int = 10) -> None:
        self.genre_names = genre_names
        self.k = k

    def fit(
        self, training: pd.DataFrame, genres: pd.DataFrame, ratings: pd.DataFrame
    ) -> GenreModel:
        """`training`: ratings with point-in-time user shares and movie stats. A least-
        squares fit says how much genre affinity and a movie's (shrunk) mean rating tell
        whether a rating is 4 or more; popularity weighs the result, since only rated
        movies are in the training set and a list should hold movies people watch."""
        g = genres.set_index("movie_id").reindex(training["movie_id"]).fillna(0.0).to_numpy()
        affinity = (training[self.genre_names].fillna(0.0).to_numpy() * g).sum(axis=1)
        prior = float(training["rating"].mean())
        count = training["movie_rating_count"].fillna(0).to_numpy()
        mean = training["movie_rating_mean"].fillna(prior).to_numpy()
        shrunk = (count * mean + 10 * prior) / (count + 10)
        x = np.column_stack([np.ones(len(training)), affinity, shrunk])
        y = (training["rating"] >= 4).astype(float).to_numpy()
        self.weights = np.linalg.lstsq(x, y, rcond=None)[0]
        stats = ratings.groupby("movie_id")["rating"].agg(["mean", "size"])
        self.items = stats.index.to_numpy()
        frame = genres.set_index("movie_id").reindex(self.items).fillna(0.0)
        self.movie_genres = frame[self.genre_names].to_numpy()
        size = stats["size"].to_numpy()
        self.movie_quality = (size * stats["mean"].to_numpy() + 10 * prior) / (size + 10)
        self.popularity = np.log1p(size)
        index = {int(m): i for i, m in enumerate(self.items)}
        self.seen = {
            int(user): np.array([index[int(m)] for m in group["movie_id"]])
            for user, group in ratings.groupby("user_id")
        }
        return self

    def recommend(self, user: int, row: dict[str, Any]) -> dict[str, Any]:
        shares = np.array([row.get(n) or 0.0 for n in self.genre_names], dtype=float)
        w = self.weights
        liked = w[0] + w[1] * (self.movie_genres @ shares) + w[2] * self.movie_quality
        return _top(liked * self.popularity, self.seen.get(user), self.items, self.k)
