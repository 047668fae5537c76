"""A run is named by its id or a unique prefix of it, on every backend."""

from __future__ import annotations

import pytest

from knot.errors import Invalid, NotFound
from knot.tracking.protocol import TrackingStore
from knot.tracking.run_ids import pick_run_id


def _runs(store: TrackingStore, ids: list[str]) -> None:
    exp = store.create_experiment("prefixes")
    for run_id in ids:
        store.create_run(exp.experiment_id, user="u", run_id=run_id)


def test_prefixes_pick_one_run_or_say_why_not(tracking_store: TrackingStore) -> None:
    ids = ["ab12" + "0" * 28, "ab13" + "0" * 28, "cd" + "1" * 30]
    _runs(tracking_store, ids)
    starting = tracking_store.run_ids_starting
    assert starting("ab1", 11) == sorted(ids[:2])
    assert pick_run_id("cd", starting) == ids[2]
    assert pick_run_id("AB12", starting) == ids[0]
    assert pick_run_id(ids[1], starting) == ids[1]
    with pytest.raises(Invalid, match="matches several runs") as ambiguous:
        pick_run_id("ab1", starting)
    assert ids[0] in str(ambiguous.value) and ids[1] in str(ambiguous.value)
    with pytest.raises(NotFound, match="no run id starts with 'ef'"):
        pick_run_id("ef", starting)


@pytest.mark.parametrize("text", ["", "a%", "a_", "zz", "../x", "a" * 33])
def test_a_prefix_that_cannot_start_a_run_id_is_refused(
    tracking_store: TrackingStore, text: str
) -> None:
    _runs(tracking_store, ["a" * 32])
    with pytest.raises(Invalid, match="not a run id or a prefix of one"):
        pick_run_id(text, tracking_store.run_ids_starting)
