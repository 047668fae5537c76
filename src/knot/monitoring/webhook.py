"""Alert webhooks: one JSON POST per event, with short timeouts. A webhook that fails is
logged and its status recorded on the event; it never fails the monitor run."""

from __future__ import annotations

import logging
from typing import Any

import httpx

__all__ = ["post_event"]

log = logging.getLogger("knot.monitoring")
_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


def post_event(url: str, payload: dict[str, Any]) -> str:
    """POST `payload` to `url`; returns what happened ("sent 200", "failed: ...")."""
    try:
        response = httpx.post(url, json=payload, timeout=_TIMEOUT)
    except Exception as exc:  # a bad URL or a down receiver must not stop monitoring
        log.warning("alert webhook %s failed: %s", url, exc)
        return f"failed: {type(exc).__name__}: {exc}"
    if response.is_success:
        return f"sent {response.status_code}"
    log.warning("alert webhook %s answered %d", url, response.status_code)
    return f"failed: HTTP {response.status_code}"
