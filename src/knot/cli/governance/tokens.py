"""`knot tokens create/list/revoke`: API tokens for `knot server --auth`.

Tokens live in the metadata store itself, so these commands run where the store is
reachable (the server's host, or with --store pointing at its database)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from knot.cli._output import fmt_time, print_json, print_table

if TYPE_CHECKING:
    from knot.store.database import Database

app = typer.Typer(
    help="API tokens and their roles, for `knot server --auth`.", no_args_is_help=True
)

_STORE = typer.Option(None, "--store", help="Metadata store URI (default: KNOT_STORE).")


def _database(store: str | None) -> Database:
    from knot.errors import Invalid
    from knot.store.database import Database

    if store is None:
        from knot.config import settings

        store = settings().store_uri
    if store.split(":", 1)[0].lower() in ("http", "https"):
        raise Invalid(
            f"tokens are kept in the metadata store, not behind a server ({store}); run this "
            "where the store is, with --store sqlite:///... or postgresql://...",
            field="store",
        )
    return Database(store)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Who or what will use it, e.g. ci-bot or ana."),
    role: str = typer.Option("viewer", "--role", "-r", help="viewer, editor, approver or admin."),
    store: str = _STORE,
) -> None:
    """Create a token and print it once (only its hash is kept)."""
    from knot.governance.tokens import create_token

    db = _database(store)
    try:
        token, secret = create_token(db, name, role)
    finally:
        db.close()
    typer.echo(secret)
    typer.echo(
        f"token {token.name!r} ({token.role}) created; it is shown only now. Clients use it "
        "with KNOT_TOKEN=<token>",
        err=True,
    )


@app.command("list")
def list_(
    store: str = _STORE,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every token with its role, creator and state (secrets are never shown)."""
    from knot.governance.tokens import list_tokens

    db = _database(store)
    try:
        tokens = list_tokens(db)
    finally:
        db.close()
    if json_out:
        print_json([t.model_dump() for t in tokens])
        return
    rows = [
        (
            t.name,
            t.role,
            t.token_id,
            fmt_time(t.created_at),
            t.created_by,
            "active" if t.active else f"revoked {fmt_time(t.revoked_at)}",
        )
        for t in tokens
    ]
    print_table("API tokens", ["name", "role", "id", "created", "by", "state"], rows)


@app.command("revoke")
def revoke(name: str = typer.Argument(..., help="The token's name."), store: str = _STORE) -> None:
    """Revoke a token: the server refuses it from the next request on."""
    from knot.governance.tokens import revoke_token

    db = _database(store)
    try:
        token = revoke_token(db, name)
    finally:
        db.close()
    typer.echo(f"token {token.name!r} revoked")
