"""knot.refs: the one grammar of model, dataset, ModelKit, run-artifact and lineage
references. Every accepted string parses to its typed reference; every refused one is
Invalid, naming the string and the accepted forms of its kind (and what was wrong)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knot.errors import Invalid
from knot.refs import (
    DATASET_FORMS,
    KIT_FORMS,
    LATEST,
    MODEL_FORMS,
    NODE_FORMS,
    RUN_ARTIFACT_FORMS,
    DatasetRef,
    KitRef,
    ModelRef,
    NodeRef,
    RunArtifactRef,
    check_alias,
    check_dataset_name,
    check_model_name,
    parse_dataset_ref,
    parse_kit_ref,
    parse_model_ref,
    parse_node_ref,
    parse_run_artifact_ref,
)

RUN = "0123456789abcdef" * 2
SHA = "sha256:" + "a" * 64
Parser = Callable[[str], object]
PARSERS: dict[str, tuple[Parser, str]] = {
    "model": (parse_model_ref, MODEL_FORMS),
    "dataset": (parse_dataset_ref, DATASET_FORMS),
    "kit": (parse_kit_ref, KIT_FORMS),
    "run": (parse_run_artifact_ref, RUN_ARTIFACT_FORMS),
    "node": (parse_node_ref, NODE_FORMS),
}

ACCEPTED = [
    ("model", "models:/churn@champion", ModelRef("churn", alias="champion")),
    ("model", "models:/churn/3", ModelRef("churn", version=3)),
    ("model", "models:/churn/03", ModelRef("churn", version=3)),
    ("model", "models:/churn", ModelRef("churn", alias=LATEST)),
    ("model", "models:/churn/latest", ModelRef("churn")),
    ("model", "models:/churn@latest", ModelRef("churn")),
    ("model", "models:/fraud.v2_eu-1/12", ModelRef("fraud.v2_eu-1", version=12)),
    ("model", "models:/churn@v1.2", ModelRef("churn", alias="v1.2")),
    ("model", " models:/churn/3 ", ModelRef("churn", version=3)),
    ("model", f"models:/churn/{2**31 - 1}", ModelRef("churn", version=2**31 - 1)),
    ("dataset", "churn", DatasetRef("churn")),
    ("dataset", "churn@latest", DatasetRef("churn", alias=LATEST)),
    ("dataset", "churn@3", DatasetRef("churn", version=3)),
    ("dataset", "churn@prod", DatasetRef("churn", alias="prod")),
    ("dataset", "telco/churn@golden.v2", DatasetRef("telco/churn", alias="golden.v2")),
    ("kit", "churn", KitRef("churn")),
    ("kit", "churn:3", KitRef("churn", tag="3")),
    ("kit", "oci://127.0.0.1:5000/team/churn:3", KitRef("team/churn", "3", None, "127.0.0.1:5000")),
    ("kit", f"localhost/churn@{SHA}", KitRef("churn", None, SHA, "localhost")),
    ("kit", f"[::1]:5000/a/b:v1@{SHA}", KitRef("a/b", "v1", SHA, "[::1]:5000")),
    ("run", f"runs:/{RUN}/model", RunArtifactRef(RUN, "model")),
    ("run", f"runs:/{RUN}/models/a", RunArtifactRef(RUN, "models/a")),
    ("node", "models:/churn/3", NodeRef("model_version", "churn/3")),
    ("node", "models:/churn@champion", NodeRef("model_version", "churn", alias="champion")),
    ("node", "models:/churn", NodeRef("model_version", "churn", alias=LATEST)),
    ("node", "dataset:churn@3", NodeRef("dataset", "churn@3")),
    ("node", "dataset:churn@03", NodeRef("dataset", "churn@3")),
    ("node", "churn@3", NodeRef("dataset", "churn@3")),
    ("node", "team/churn@3", NodeRef("dataset", "team/churn@3")),
    ("node", "model_version:churn/3", NodeRef("model_version", "churn/3")),
    ("node", f"run:{RUN}", NodeRef("run", RUN)),
    ("node", f" {RUN} ", NodeRef("run", RUN)),
    ("node", f"modelkit:{SHA}", NodeRef("modelkit", SHA)),
]

REFUSED = [
    ("model", "churn", "does not start with models:/"),
    ("model", "models:churn/3", "lacks the slash after models:"),
    ("model", "runs:/abc/model", "does not start with models:/"),
    ("model", "", "does not start with models:/"),
    ("model", "models:/", "model name ''"),
    ("model", "models:/bad name/3", "model name 'bad name'"),
    ("model", "models:/team/churn/3", "model name 'team/churn'"),
    ("model", "models:/-churn", "starting with a letter or digit"),
    ("model", "models:/churn/0", "versions are 1, 2, 3"),
    ("model", f"models:/churn/{2**31}", "versions are 1, 2, 3"),
    ("model", "models:/churn/-1", "model version '-1' is not a number"),
    ("model", "models:/churn/three", "model version 'three' is not a number"),
    ("model", "models:/churn/\u00b3", "is not a number"),
    ("model", "models:/churn@", "alias ''"),
    ("model", "models:/churn@9lives", "starting with a letter"),
    ("model", "models:/churn@a b", "alias 'a b'"),
    ("dataset", "", "it is empty"),
    ("dataset", "a b", "dataset name 'a b'"),
    ("dataset", "a/../x", "dataset name 'a/../x'"),
    ("dataset", "/etc/passwd", "dataset name '/etc/passwd'"),
    ("dataset", "a//b", "dataset name 'a//b'"),
    ("dataset", "telco/.hidden", "each part starting with a letter or digit"),
    ("dataset", "x" * 129, "up to 128"),
    ("dataset", "churn@0", "versions are 1, 2, 3"),
    ("dataset", "churn@", "alias ''"),
    ("dataset", "churn@-prod", "alias '-prod'"),
    ("kit", "", "it is empty"),
    ("kit", "Churn:3", "repository 'Churn' must be lowercase"),
    ("kit", "churn:bad tag", "tag 'bad tag'"),
    ("kit", "churn@sha256:abc", "digest 'sha256:abc'"),
    ("kit", "bad host!.io/churn:1", "registry 'bad host!.io'"),
    ("run", "models:/churn/3", "does not start with runs:/"),
    ("run", "runs:/short/model", "run id 'short'"),
    ("run", f"runs:/{RUN}", "artifact path '' is empty"),
    ("run", f"runs:/{RUN}/../x", "climbs out with '..'"),
    ("run", f"runs:/{RUN}//etc/passwd", "is absolute"),
    ("node", "", "is empty"),
    ("node", "models:/bad name/3", "model name 'bad name'"),
    ("node", "models:/churn/0", "versions are 1, 2, 3"),
    ("node", "models:churn/3", "slash after models:"),
    ("node", "not-a-run-id", "not a run id"),
    ("node", "Dataset:x", "kind 'Dataset'"),
    ("node", "run:", "no id"),
    ("node", "run:abc", "run id 'abc'"),
    ("node", "dataset:churn", "names no dataset version"),
    ("node", "churn@prod", "names no dataset version"),
    ("node", "dataset:a b@1", "dataset name 'a b'"),
]


@pytest.mark.parametrize(("kind", "text", "expected"), ACCEPTED)
def test_accepted_references_parse(kind: str, text: str, expected: object) -> None:
    parse, _ = PARSERS[kind]
    assert parse(text) == expected


@pytest.mark.parametrize(("kind", "text", "why"), REFUSED)
def test_refused_references_name_the_string_and_the_forms(kind: str, text: str, why: str) -> None:
    parse, forms = PARSERS[kind]
    with pytest.raises(Invalid) as caught:
        parse(text)
    message = caught.value.message
    assert repr(text) in message, message
    assert forms in message, message
    assert why in message, message


@pytest.mark.parametrize("kind", sorted(PARSERS))
@pytest.mark.parametrize("value", [None, 3, b"models:/churn/3"])
def test_what_is_not_text_is_refused_by_every_parser(kind: str, value: object) -> None:
    parse, forms = PARSERS[kind]
    with pytest.raises(Invalid) as caught:
        parse(value)  # type: ignore[arg-type]
    assert forms in caught.value.message


def test_the_field_is_the_callers() -> None:
    with pytest.raises(Invalid) as caught:
        parse_model_ref("churn", field="model")
    assert caught.value.field == "model"
    with pytest.raises(Invalid) as caught:
        parse_node_ref("models:/churn/0")
    assert caught.value.field == "ref"


NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}", fullmatch=True)
ALIASES = st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,20}", fullmatch=True)


@given(NAMES, st.one_of(st.none(), st.integers(1, 2**31 - 1), ALIASES))
def test_a_model_ref_prints_as_text_that_parses_back(name: str, selector: int | str | None) -> None:
    if isinstance(selector, int):
        ref = ModelRef(name, version=selector)
    elif isinstance(selector, str):
        ref = ModelRef(name, alias=selector)
    else:
        ref = ModelRef(name)
    assert parse_model_ref(str(ref)) == ref


@given(
    st.lists(NAMES, min_size=1, max_size=3).map("/".join).filter(lambda n: len(n) <= 128),
    st.one_of(st.none(), st.integers(1, 2**31 - 1), ALIASES),
)
def test_a_dataset_ref_prints_as_text_that_parses_back(
    name: str, selector: int | str | None
) -> None:
    if isinstance(selector, int):
        ref = DatasetRef(name, version=selector)
    elif isinstance(selector, str):
        ref = DatasetRef(name, alias=selector)
    else:
        ref = DatasetRef(name)
    assert parse_dataset_ref(str(ref)) == ref


def test_refs_check_their_fields_when_made() -> None:
    with pytest.raises(Invalid, match="model name 'a b'"):
        ModelRef("a b", version=1)
    with pytest.raises(Invalid, match="not both"):
        ModelRef("churn", version=1, alias="champion")
    with pytest.raises(Invalid, match="model version 0"):
        ModelRef("churn", version=0)
    with pytest.raises(Invalid, match=r"dataset name 'a/\.\./b'"):
        DatasetRef("a/../b")
    assert ModelRef("churn").is_latest and ModelRef("churn").followed_alias is None
    assert ModelRef("churn", alias="champion").followed_alias == "champion"
    assert str(ModelRef("churn")) == "models:/churn"
    assert str(DatasetRef("churn")) == "churn@latest"
    assert (
        str(KitRef("team/churn", "3", SHA, "127.0.0.1:5000"))
        == f"127.0.0.1:5000/team/churn:3@{SHA}"
    )


def test_one_set_of_name_and_alias_rules() -> None:
    # a model name is one part of a dataset name; an alias is the same for both
    for name in ("churn", "fraud.v2_eu-1", "0day"):
        assert check_model_name(name) == name and check_dataset_name(f"telco/{name}")
    for bad in ("", "-x", ".x", "a b", "a/b", "x" * 257):
        with pytest.raises(Invalid, match="model name"):
            check_model_name(bad)
    assert check_alias("golden.v2") == "golden.v2"
    with pytest.raises(Invalid, match="alias 'latest' is kept"):
        check_alias(LATEST)  # names the newest version, so it can never be stored
