"""Datasets: the list, a dataset's versions and validation reports (with the failing
examples each rule kept), a version's profile (drawn by the same report page as
`knot data profile --html`, histograms included) and the diff of two versions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from knot.data.profile_html import profile_page
from knot.server.ui import stores
from knot.server.ui.render import page, render
from knot.server.ui.session import visitor

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/ui/datasets")
@page
def datasets(request: Request) -> Response:
    who = visitor(request)
    return render(
        request, "datasets.html", who=who, datasets=stores.datasets(request).list_datasets()
    )


@router.get("/ui/datasets/{name}")
@page
def dataset(request: Request, name: str) -> Response:
    who = visitor(request)
    store = stores.datasets(request)
    found = store.get_dataset(name)
    versions = sorted(store.versions(name), key=lambda v: -v.version)
    reports = {v.version: store.reports(v.ref) for v in versions[:10]}
    return render(
        request, "dataset.html", who=who, dataset=found, versions=versions, reports=reports
    )


@router.get("/ui/datasets/{name}/profile")
@page
def profile(request: Request, name: str, version: str | None = None) -> Response:
    who = visitor(request)
    store = stores.datasets(request)
    ref = f"{name}@{version}" if version else name
    found = store.get(ref)
    report = profile_page(store.profile(found.ref), title=f"Profile of {found.ref}")
    return render(request, "report.html", who=who, title=found.ref, body=report.body(), charts=True)


@router.get("/ui/datasets/{name}/diff")
@page
def diff(request: Request, name: str, a: str | None = None, b: str | None = None) -> Response:
    who = visitor(request)
    store = stores.datasets(request)
    versions = sorted(v.version for v in store.versions(name))
    first = f"{name}@{a}" if a else f"{name}@{versions[-2] if len(versions) > 1 else versions[0]}"
    second = f"{name}@{b}" if b else f"{name}@{versions[-1]}"
    changes = store.diff(first, second)
    return render(request, "diff.html", who=who, name=name, diff=changes, versions=versions)
