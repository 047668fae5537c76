"""Kitfiles: kit's schema, unknown keys refused by name, and the config blob's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knot.errors import Invalid
from knot.packaging.kitfile import config_json, parse_kitfile, read_kitfile, to_yaml
from knot.packaging.pack import pack_folder


def test_parses_kits_schema(context: Path) -> None:
    kitfile = read_kitfile(context / "Kitfile")
    assert kitfile.package.authors == ["tester"]
    assert kitfile.layer_paths() == [
        "models",
        "models/extra",
        "src",
        "data/train.csv",
        "README.md",
    ]
    assert parse_kitfile(to_yaml(kitfile)) == kitfile


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("manifestVersion: '1.0'\nmodels: {path: m}\n", "models"),
        ("manifestVersion: '1.0'\nmodel: {path: m, pth: x}\n", "model.pth"),
        ("manifestVersion: '1.0'\ndatasets: [{path: d, size: 3}]\n", "datasets.0.size"),
        ("manifestVersion: '1.0'\npackage: {name: x, owner: y}\n", "package.owner"),
    ],
)
def test_unknown_keys_are_refused_by_name(text: str, key: str) -> None:
    with pytest.raises(Invalid, match=f"unknown key '{key}'"):
        parse_kitfile(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model: {path: m}\n", "manifestVersion"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("manifestVersion: [\n", "not valid YAML"),
        ("manifestVersion: '1.0'\nmodel: {path: m, digest: sha256:00}\n", "computed when packing"),
        ("manifestVersion: '1.0'\ndocs: [{description: no path}]\n", "docs.0.path"),
    ],
)
def test_bad_kitfiles_are_refused(text: str, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        parse_kitfile(text)


def test_missing_kitfile(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="no Kitfile"):
        pack_folder(tmp_path, "toy:1")


def test_config_is_compact_json_in_kits_field_order(context: Path, knot_home: Path) -> None:
    packed = pack_folder(context, "toy:1")
    config = config_json(packed.kitfile)
    data = json.loads(config)
    assert b" " not in config.replace(b"no path", b"")
    assert list(data) == ["manifestVersion", "package", "model", "code", "datasets", "docs"]
    assert list(data["model"])[-2:] == ["digest", "diffId"]
    assert data["model"]["digest"] == packed.manifest["layers"][0]["digest"]
    assert data["model"]["parts"][0]["diffId"] == packed.manifest["layers"][1]["digest"]
    empty = parse_kitfile(
        "manifestVersion: '1.0'\nmodel: {path: m, parameters: {b: 1, a: '<x>'}}\n"
    )
    assert config_json(empty) == (
        b'{"manifestVersion":"1.0","package":{},"model":{"path":"m",'
        b'"parameters":{"a":"\\u003cx\\u003e","b":1}}}'
    )
