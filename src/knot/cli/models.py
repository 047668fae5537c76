"""`knot models list/show/versions/register/alias/policy/promote/approve/reject/requests/
update/card`: the model registry from the command line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from knot.cli._output import fmt_time, print_json, print_table

if TYPE_CHECKING:
    from knot.registry.entities import ModelVersion, PromotionPolicy, PromotionRequest

app = typer.Typer(
    help="Models: registered versions, aliases, promotion through policies, model cards.",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON.")


@contextmanager
def _warnings_on_stderr() -> Iterator[None]:
    """Show the registry's identity warnings as `warning: ...` lines on stderr."""
    logger = logging.getLogger("knot.identity")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _versions_table(title: str, versions: list[ModelVersion]) -> None:
    rows = [
        (
            v.version,
            ", ".join(v.aliases),
            v.status.value,
            v.flavor,
            v.run_id,
            fmt_time(v.created_at),
            v.created_by,
        )
        for v in versions
    ]
    print_table(title, ["version", "aliases", "status", "flavor", "run", "created", "by"], rows)


def _request_line(request: PromotionRequest) -> str:
    target = f"{request.name}/{request.version} -> {request.alias!r}"
    if request.status.value == "pending":
        return (
            f"promotion of {target} is pending approval by role {request.approver_role!r}; "
            f"request {request.request_id} (`knot models approve {request.request_id}`)"
        )
    return f"promotion of {target}: {request.status.value} (request {request.request_id})"


@app.command("list")
def list_models(json_out: bool = JSON) -> None:
    """Registered models with their latest version and aliases."""
    import knot

    models = knot.list_models()
    if json_out:
        print_json([m.model_dump(mode="json") for m in models])
        return
    rows = [
        (
            m.name,
            m.latest_version or "",
            ", ".join(f"{a} -> {v}" for a, v in m.aliases.items()),
            fmt_time(m.updated_at),
        )
        for m in models
    ]
    print_table("models", ["name", "latest", "aliases", "updated"], rows)


@app.command("show")
def show(
    target: str = typer.Argument(
        ..., help="A model NAME, or a URI such as models:/churn@champion."
    ),
    json_out: bool = JSON,
) -> None:
    """One model (its versions and policy), or the one version a models:/ URI names."""
    import knot

    if target.startswith("models:"):
        version = knot.get_model_version(target)
        if json_out:
            print_json(version.model_dump(mode="json"))
            return
        _versions_table(f"{target} = {version.uri}", [version])
        if version.signature is not None:
            print_table(
                f"signature ({version.signature.input_kind})",
                ["input", "type"],
                [(c.name or "(tensor)", c.type) for c in version.signature.inputs],
            )
        print_table(
            f"environment (python {version.environment.python})",
            ["package", "version"],
            sorted(version.environment.packages.items()),
        )
        return
    model = knot.get_model(target)
    versions = knot.list_model_versions(target)
    policy = knot.get_promotion_policy(target)
    if json_out:
        data = model.model_dump(mode="json")
        data["versions"] = [v.model_dump(mode="json") for v in versions]
        data["policy"] = policy.model_dump(mode="json") if policy else None
        print_json(data)
        return
    _versions_table(f"model {model.name}", versions)
    if policy is None:
        typer.echo("no promotion policy: any alias moves with `knot models alias`")
    else:
        typer.echo(
            f"policy guards {', '.join(policy.aliases)}: "
            f"{', '.join(str(t) for t in policy.thresholds) or 'no thresholds'}; "
            f"approver role: {policy.approver_role or 'none needed'}"
        )


@app.command("versions")
def versions(name: str, json_out: bool = JSON) -> None:
    """Every version of a model."""
    import knot

    found = knot.list_model_versions(name)
    if json_out:
        print_json([v.model_dump(mode="json") for v in found])
        return
    _versions_table(f"versions of {name}", found)


@app.command("register")
def register(
    run_id: str = typer.Argument(
        ..., help="A run id or a unique prefix of it (tables print 8 characters)."
    ),
    name: str = typer.Argument(..., help="The model's name."),
    path: str = typer.Option("model", "--path", help="The model's artifact path in the run."),
) -> None:
    """Register a model logged on a run (knot.log_model) as the next version of NAME."""
    import knot

    run_id = knot.resolve_run_id(run_id)
    version = knot.register_model(run_id, path, name)
    typer.echo(f"registered {version.uri} from run {run_id}")


@app.command("alias")
def alias(
    name: str,
    alias_name: str = typer.Argument(..., metavar="ALIAS"),
    version: int = typer.Argument(None, help="The version to point at (omit with --delete)."),
    delete: bool = typer.Option(False, "--delete", help="Remove the alias."),
    expect: int = typer.Option(None, "--expect", help="Move only if it points at this now."),
) -> None:
    """Point ALIAS at VERSION, or --delete it.

    An alias the model's promotion policy guards (champion by default)
    cannot be set or deleted here, by anyone: it moves with `knot models
    promote`. While a traffic split sends live requests to this alias, it
    may only point at a version that passed the policy (or an admin moves
    it)."""
    import knot
    from knot.errors import Invalid

    if delete:
        knot.delete_alias(name, alias_name)
        typer.echo(f"deleted alias {name}@{alias_name}")
        return
    if version is None:
        raise Invalid("give the VERSION to point the alias at, or --delete", field="version")
    knot.set_alias(name, alias_name, version, expected_version=expect)
    typer.echo(f"models:/{name}@{alias_name} -> version {version}")


@app.command("policy")
def policy(
    name: str,
    require: list[str] = typer.Option(None, "--require", help='e.g. "val_auc >= 0.8" (repeat).'),
    approver_role: str = typer.Option(None, "--approver-role", help="e.g. approver."),
    guard: list[str] = typer.Option(None, "--alias", help="Aliases it guards (champion)."),
    allow_self_approval: bool = typer.Option(False, "--allow-self-approval"),
    max_canary_weight: float = typer.Option(
        0.5,
        "--max-canary-weight",
        min=0.0,
        max=1.0,
        help="Largest live share for a version that meets the thresholds but awaits approval.",
    ),
    clear: bool = typer.Option(False, "--clear", help="Remove the policy."),
    json_out: bool = JSON,
) -> None:
    """Show the promotion policy, or set it with --require/--approver-role/--alias.

    Anybody who may write creates a policy where there is none; changing
    or removing an existing one (--clear) needs the role it names as
    approver ("approver" if it names none) or a higher one.

    Without a token (a local store, or a server without --auth) who you
    are is KNOT_USER or the OS user: advisory, anybody can set it, there
    are no roles, and a warning says so. Through `knot server --auth` the
    token's name and role are what count."""
    import knot

    if clear:
        with _warnings_on_stderr():
            knot.delete_promotion_policy(name)
        typer.echo(f"removed the promotion policy of {name}")
        return
    found: PromotionPolicy | None
    if require or approver_role or guard:
        with _warnings_on_stderr():
            found = knot.set_promotion_policy(
                name,
                require or [],
                approver_role=approver_role,
                aliases=guard or ["champion"],
                allow_self_approval=allow_self_approval,
                max_canary_weight=max_canary_weight,
            )
    else:
        found = knot.get_promotion_policy(name)
    if json_out:
        print_json(found.model_dump(mode="json") if found else None)
        return
    if found is None:
        typer.echo(f"{name} has no promotion policy; set one with --require 'METRIC >= N'")
        return
    typer.echo(
        f"policy of {name}: guards {', '.join(found.aliases)}; approver role: "
        f"{found.approver_role or 'none'}"
        + ("; the requester may approve" if found.allow_self_approval else "")
    )
    print_table(
        "thresholds",
        ["metric", "must be", "value"],
        [(t.metric, t.op, f"{t.value:g}") for t in found.thresholds],
    )


@app.command("promote")
def promote(
    name: str,
    version: int,
    to: str = typer.Option("champion", "--to", help="The alias to move."),
    comment: str = typer.Option(None, "--comment"),
) -> None:
    """Move an alias to VERSION through the model's promotion policy."""
    import knot

    typer.echo(_request_line(knot.promote(name, version, to=to, comment=comment)))


@app.command("approve")
def approve(request_id: str, comment: str = typer.Option(None, "--comment")) -> None:
    """Approve a pending promotion: the alias moves now. Needs the approver role the
    policy names; the requester cannot approve their own request.

    Without a token (a local store, or a server without --auth) who you
    are is KNOT_USER or the OS user: advisory, anybody can set it, there
    are no roles, and a warning says so. Through `knot server --auth` the
    token's name and role are what count."""
    import knot

    with _warnings_on_stderr():
        typer.echo(_request_line(knot.approve(request_id, comment)))


@app.command("reject")
def reject(
    request_id: str, reason: str = typer.Option(..., "--reason", help="Why (required).")
) -> None:
    """Reject a pending promotion. Needs the approver role the policy names.

    Without a token (a local store, or a server without --auth) who you
    are is KNOT_USER or the OS user: advisory, anybody can set it, there
    are no roles, and a warning says so. Through `knot server --auth` the
    token's name and role are what count."""
    import knot

    with _warnings_on_stderr():
        typer.echo(_request_line(knot.reject(request_id, reason)))


@app.command("requests")
def requests(
    name: str,
    status: str = typer.Option(None, "--status", help="pending, approved, rejected, applied."),
    json_out: bool = JSON,
) -> None:
    """Promotion requests of a model, oldest first."""
    import knot

    found = knot.list_promotion_requests(name, status)
    if json_out:
        print_json([r.model_dump(mode="json") for r in found])
        return
    rows = [
        (
            r.request_id,
            r.version,
            r.alias,
            r.status.value,
            r.requested_by,
            fmt_time(r.requested_at),
            r.decided_by or "",
            r.decision_comment or r.comment or "",
        )
        for r in found
    ]
    columns = ["request", "version", "alias", "status", "by", "when", "decided by", "comment"]
    print_table(f"promotion requests of {name}", columns, rows)


@app.command("update")
def update(
    name: str,
    version: int,
    description: str = typer.Option(None, "--description"),
    intended_use: str = typer.Option(None, "--intended-use"),
    limitations: str = typer.Option(None, "--limitations"),
    status: str = typer.Option(None, "--status", help="ready or archived."),
) -> None:
    """Fill in a version's card fields, or archive it."""
    import knot

    found = knot.update_model_version(
        name,
        version,
        description=description,
        intended_use=intended_use,
        limitations=limitations,
        status=status,
    )
    typer.echo(f"updated {found.uri}")


@app.command("card")
def card(
    name: str,
    version: int,
    html: Path = typer.Option(None, "--html", help="Also write the card as HTML here."),
    markdown: Path = typer.Option(None, "--md", help="Write the Markdown here, not stdout."),
) -> None:
    """The model card of one version: Markdown on stdout (or --md), HTML with --html."""
    import knot

    text = knot.model_card(name, version, html=html, markdown=markdown)
    if markdown is None:
        typer.echo(text)
    for path in (markdown, html):
        if path is not None:
            typer.echo(f"wrote {path}", err=True)
