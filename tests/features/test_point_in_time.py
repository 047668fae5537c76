"""Point-in-time correctness: each training row gets the newest value stamped at or before
its time, never a later one, and nothing older than the TTL, checked against a
brute-force reference on generated data."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knot.errors import Invalid
from knot.features.definitions import FeatureService, FeatureView
from knot.features.store import FeatureStore
from knot.governance.lineage import edges_to

START = datetime(2024, 1, 1)

# (user, minute offset, value) rows of a view; rows of a user at the same minute are
# ties, which the row later in the file wins
view_rows = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 60), st.floats(-1e6, 1e6)), max_size=40
)
label_rows = st.lists(st.tuples(st.integers(0, 5), st.integers(-10, 80)), min_size=1, max_size=30)


def _reference(
    rows: list[tuple[int, int, float]], labels: list[tuple[int, int]], ttl: int | None
) -> list[float | None]:
    out: list[float | None] = []
    for user, minute in labels:
        seen = [(m, i, v) for i, (u, m, v) in enumerate(rows) if u == user and m <= minute]
        if not seen:
            out.append(None)
            continue
        newest, _, value = max(seen)
        fresh = ttl is None or (minute - newest) * 60 <= ttl
        out.append(value if fresh else None)
    return out


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=view_rows, labels=label_rows, ttl=st.sampled_from([None, 60, 600, 3600]))
def test_no_future_leakage_and_ttl_match_brute_force(
    local_features: FeatureStore,
    rows: list[tuple[int, int, float]],
    labels: list[tuple[int, int]],
    ttl: int | None,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "v.parquet"
        pd.DataFrame(
            {
                "user_id": pd.Series([r[0] for r in rows], dtype="int64"),
                "ts": pd.Series(
                    [START + timedelta(minutes=r[1]) for r in rows], dtype="datetime64[us]"
                ),
                "x": pd.Series([r[2] for r in rows], dtype="float64"),
            }
        ).to_parquet(source)
        local_features.apply(
            [FeatureView("v", ["user_id"], "ts", [("x", "float64")], str(source), ttl=ttl)]
        )
        entities = pd.DataFrame(
            {
                "user_id": [u for u, _ in labels],
                "event_timestamp": [START + timedelta(minutes=m) for _, m in labels],
                "label": range(len(labels)),
            }
        )
        import pyarrow as pa

        got = local_features.training_set(pa.Table.from_pandas(entities), ["v:x"]).table
    assert got.column("label").to_pylist() == list(range(len(labels)))  # order kept
    assert got.column("x").to_pylist() == _reference(rows, labels, ttl)


def _users(tmp_path: Path) -> Path:
    path = tmp_path / "users.parquet"
    pd.DataFrame(
        {
            "user_id": [1, 1, 2],
            "ts": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-02"]),
            "spend": [1.0, 2.0, 3.0],
            "visits": [10, 20, 30],
        }
    ).to_parquet(path)
    return path


def _items(tmp_path: Path) -> Path:
    path = tmp_path / "items.parquet"
    pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "ts": pd.to_datetime(["2024-01-03", "2024-01-03"]),
            "spend": [9.0, 8.0],
        }
    ).to_parquet(path)
    return path


def test_two_views_a_service_and_lineage(feature_store: FeatureStore, tmp_path: Path) -> None:
    feature_store.apply(
        [
            FeatureView("users", "user_id", "ts", [("spend", "float64"), ("visits", "int64")], str(_users(tmp_path)), ttl="2d"),  # noqa: E501
            FeatureView("items", "item_id", "ts", [("spend", "float64")], str(_items(tmp_path))),
            FeatureService("recs", ["users:visits", "items"]),
        ]
    )  # fmt: skip
    labels = pd.DataFrame(
        {
            "user_id": [1, 1, 2, 2],
            "item_id": ["a", "b", "a", "c"],
            "event_timestamp": pd.to_datetime(
                ["2024-01-04", "2024-01-06", "2024-01-03", "2024-01-05"]
            ),
        }
    )
    import pyarrow as pa

    result = feature_store.training_set(
        pa.Table.from_pandas(labels), service="recs", run_id="r" * 32
    )
    table = result.table.to_pydict()
    # user 1 on the 4th: the 1st's row is 3 days old, past the 2-day TTL
    assert table["visits"] == [None, 20, 30, None]
    assert table["spend"] == [9.0, 8.0, 9.0, None]
    with pytest.raises(Invalid, match=r"features \['spend'\] are in more than one view"):
        feature_store.training_set(pa.Table.from_pandas(labels), ["users", "items"])
    full = feature_store.training_set(
        pa.Table.from_pandas(labels), ["users:spend", "items"], full_names=True
    )
    assert full.table.column_names[-2:] == ["users__spend", "items__spend"]
    with feature_store.db.read() as conn:
        into_set = edges_to(conn, "training_set", result.node)
        into_run = edges_to(conn, "run", "r" * 32)
    assert sorted(e.from_id for e in into_set) == ["items/1", "users/1"]
    assert [(e.from_kind, e.from_id) for e in into_run] == [("training_set", result.node)]


def test_entity_frame_errors_name_the_columns(local_features: FeatureStore, tmp_path: Path) -> None:
    local_features.apply([FeatureView("users", "user_id", "ts", ["spend"], str(_users(tmp_path)))])
    import pyarrow as pa

    frame = pa.table({"customer": [1], "event_timestamp": [datetime(2024, 1, 2)]})
    with pytest.raises(Invalid, match=r"lacks columns \['user_id'\]"):
        local_features.training_set(frame, ["users"])
    with pytest.raises(Invalid, match="has no feature 'age'; it has spend"):
        local_features.training_set(frame, ["users:age"])
    clash = pa.table({"user_id": [1], "spend": [0.0], "event_timestamp": [datetime(2024, 1, 2)]})
    with pytest.raises(Invalid, match="names of entity frame columns"):
        local_features.training_set(clash, ["users"])


def test_a_parquet_entity_frame_streams_from_disk(
    local_features: FeatureStore, tmp_path: Path
) -> None:
    local_features.apply([FeatureView("users", "user_id", "ts", ["spend"], str(_users(tmp_path)))])
    frame = tmp_path / "labels.parquet"
    n = 5000
    pd.DataFrame(
        {
            "user_id": [1 + i % 3 for i in range(n)],
            "event_timestamp": [datetime(2024, 1, 6)] * n,
            "row": range(n),
        }
    ).to_parquet(frame, row_group_size=700)
    got = local_features.training_set(frame, ["users"]).table
    assert got.column("row").to_pylist() == list(range(n))
    assert got.column("spend").to_pylist()[:3] == [2.0, 3.0, None]
