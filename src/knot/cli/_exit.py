"""How `knot` ends: the exit codes scripts and CI jobs read, and the one line on stderr
that says why.

    0    the command did what was asked (and every check it ran passed)
    1    a check failed: the command worked, and its answer is "no"
    2    the command could not do its work: a usage error, bad input, a missing run,
         model, dataset or file, an unreachable store, or a bug in Knot
    130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import re
import sys
import traceback
from typing import NoReturn

import typer

__all__ = ["EXIT_CODES", "check_failed", "run_app"]

EXIT_CODES = (
    "Exit codes: 0 ok; 1 a check failed (the reason is the last line on stderr); "
    "2 a usage, input or store error (one line on stderr: error: ...)."
)


def check_failed(reason: str) -> NoReturn:
    """End a command whose check said no: the verdict on stderr (so it stays out of
    --json output), exit code 1."""
    typer.echo(f"failed: {_one_line(reason)}", err=True)
    raise typer.Exit(1)


def run_app(app: typer.Typer) -> None:
    """Run the app and exit with Knot's documented codes (see the module docstring).

    Typer bundles its own copy of Click, so its exceptions are caught from
    ``typer._click``, not from ``click``.
    """
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

    from knot.errors import KnotError

    try:
        result = app(standalone_mode=False)
    except KnotError as exc:
        _error(exc.message)
    except NoArgsIsHelpError as exc:
        # Typer's Rich help is already on stdout; say on stderr what was missing.
        _error(f"missing command (see '{_where(exc)} --help')")
    except UsageError as exc:
        _error(f"{exc.format_message()} (see '{_where(exc)} --help')")
    except ClickException as exc:
        _error(exc.format_message(), exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except OSError as exc:
        # A file Knot was told to read or write (--html into a folder, a full disk).
        what = exc.strerror or str(exc)
        where = f": {exc.filename}" if exc.filename else ""
        _error(f"{what}{where}; check the path and its permissions")
    except Exception as exc:  # the last resort: one line, never a traceback
        saved = _save_traceback()
        _error(
            f"unexpected {type(exc).__name__}: {exc}; this is a bug in Knot, please report "
            f"it with the traceback saved in {saved}"
        )
    # In non-standalone mode Click hands back the code of a raised typer.Exit.
    sys.exit(result if isinstance(result, int) and not isinstance(result, bool) else 0)


def _where(exc: object) -> str:
    ctx = getattr(exc, "ctx", None)
    return ctx.command_path if ctx is not None else "knot"


def _one_line(text: str) -> str:
    # Messages quoting a driver's or parser's text can carry newlines; stderr gets one line.
    return re.sub(r"\s*\n\s*", " ", text).strip()


def _error(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {_one_line(message)}", err=True)
    sys.exit(code)


def _save_traceback() -> str:
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(
            "w", prefix="knot-crash-", suffix=".txt", delete=False, encoding="utf-8"
        ) as out:
            traceback.print_exc(file=out)
            return out.name
    except OSError:
        return "(nowhere: the temporary folder is not writable)"
