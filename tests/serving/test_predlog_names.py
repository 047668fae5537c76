"""The prediction log is read by model name; a name that is not a model name never
becomes a folder outside the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from knot.errors import Invalid
from knot.serving.logs.predictions import prediction_log_dataset


@pytest.mark.parametrize("name", ["x/../../..", "../etc", "a/b", ""])
def test_a_model_name_with_path_parts_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(Invalid, match="model name"):
        prediction_log_dataset(name, root=tmp_path / "predictions")


def test_a_model_with_no_log_reads_as_none(tmp_path: Path) -> None:
    assert prediction_log_dataset("churn", root=tmp_path / "predictions") is None
