"""Knot's exceptions: every error a user sees names what was wrong and how to fix it.

KnotError
 ├── NotFound          a run, experiment, blob or key that does not exist  (HTTP 404)
 ├── Invalid           bad input: a malformed name, value, filter or URI   (HTTP 422)
 ├── Conflict          the change contradicts what is stored               (HTTP 409)
 ├── Corrupted         stored content whose digest does not match          (HTTP 500)
 ├── SchemaTooNew      a store written by a newer Knot                     (HTTP 500)
 ├── Unavailable       a backend that cannot be reached                    (HTTP 503)
 ├── Unauthorized      no token, or one the server does not know           (HTTP 401)
 └── Forbidden         a valid token whose role may not do this            (HTTP 403)
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "Corrupted",
    "Forbidden",
    "Invalid",
    "KnotError",
    "NotFound",
    "SchemaTooNew",
    "Unauthorized",
    "Unavailable",
]


class KnotError(Exception):
    """Base of every error Knot raises on purpose."""

    status_code = 500
    kind = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str | None]:
        return {"error": self.kind, "message": self.message, "field": self.field}


class NotFound(KnotError):
    status_code = 404
    kind = "not_found"


class Invalid(KnotError, ValueError):
    status_code = 422
    kind = "invalid"


class Conflict(KnotError):
    status_code = 409
    kind = "conflict"


class Corrupted(KnotError):
    status_code = 500
    kind = "corrupted"


class SchemaTooNew(KnotError):
    status_code = 500
    kind = "schema_too_new"


class Unavailable(KnotError):
    status_code = 503
    kind = "unavailable"


class Unauthorized(KnotError):
    status_code = 401
    kind = "unauthorized"


class Forbidden(KnotError):
    status_code = 403
    kind = "forbidden"


_BY_KIND: dict[str, type[KnotError]] = {
    cls.kind: cls
    for cls in (
        KnotError,
        NotFound,
        Invalid,
        Conflict,
        Corrupted,
        SchemaTooNew,
        Unavailable,
        Unauthorized,
        Forbidden,
    )
}


def from_dict(payload: dict[str, object]) -> KnotError:
    """Rebuild the error a server sent, so remote and local raise the same type."""
    cls = _BY_KIND.get(str(payload.get("error")), KnotError)
    field = payload.get("field")
    return cls(str(payload.get("message", "unknown error")), field=str(field) if field else None)
