"""`knot monitor run|watch|report|alerts|rules` and `knot feedback`: monitoring passes,
the live view, the HTML report, alert events and rules. Registered on the `monitor`
sub-app of knot.cli.monitor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from knot.cli._output import fmt_time, fmt_value, print_json, print_table, say_store
from knot.cli.monitoring.monitor import monitor_app

if TYPE_CHECKING:
    from rich.console import RenderableType

    from knot.monitoring.monitor_run import MonitorResult

rules_app = typer.Typer(help="Alert rules: apply a YAML file, list, delete.", no_args_is_help=True)
monitor_app.add_typer(rules_app, name="rules")

_WINDOW = typer.Option(None, "--window", "-w", help="Window size, e.g. 15m, 1h, 1d.")


def _summary(result: MonitorResult) -> RenderableType:
    from rich.console import Group
    from rich.table import Table

    latest: dict[tuple[int | None, str], Any] = {}
    for m in result.performance:
        latest[(m.version, m.window)] = m
    perf = Table(title=f"{result.model}: newest window per version")
    for column in ("version", "window", "from", "rows", "labeled", "metrics"):
        perf.add_column(column)
    for (version, window), m in sorted(latest.items(), key=lambda kv: (kv[0][1], kv[0][0] or 0)):
        shown = ", ".join(f"{k} {fmt_value(v)}" for k, v in m.metrics.items() if v is not None)
        perf.add_row(
            str(version), window, fmt_time(m.window_start), str(m.rows), str(m.labeled), shown
        )
    drift = Table(title="drift (newest window per version)")
    for column in ("version", "window", "from", "reference", "drifted columns", "share"):
        drift.add_column(column)
    newest: dict[tuple[int, str], Any] = {}
    for d in result.drift:
        newest[(d.version, d.window)] = d
    for d in newest.values():
        drift.add_row(
            str(d.version),
            d.window,
            fmt_time(d.window_start),
            d.reference,
            ", ".join(d.report.drifted_columns) or "-",
            f"{d.report.share_drifted:.0%}",
        )
    events = Table(title="alert events from this pass")
    for column in ("rule", "event", "metric", "value", "threshold", "webhook"):
        events.add_column(column)
    for e in result.events:
        style = "red" if e.state == "fired" else "green"
        events.add_row(
            e.rule,
            f"[{style}]{e.state}[/]",
            e.metric,
            fmt_value(e.value),
            fmt_value(e.threshold),
            e.webhook_status or "",
        )
    parts: list[RenderableType] = [perf, drift]
    if result.skew:
        skew = Table(title="training/serving skew (newest window per version)")
        for column in ("version", "window", "from", "service", "rows", "skewed features"):
            skew.add_column(column)
        for s in {(s.version, s.window): s for s in result.skew}.values():
            shown = ", ".join(f"{f} {s.rate(f):.1%}" for f in s.skewed) or "[green]none[/]"
            skew.add_row(
                str(s.version), s.window, fmt_time(s.window_start), s.service, str(s.rows), shown
            )
        parts.append(skew)
    if result.events:
        parts.append(events)
    parts.extend(f"[yellow]note:[/] {n}" for n in result.notes)
    parts.append(f"stored {result.stored} results at {fmt_time(result.at_ms)}")
    return Group(*parts)


@monitor_app.command("run")
def run(
    model: str = typer.Argument(..., help="Registered model name."),
    window: str | None = _WINDOW,
    lookback: int = typer.Option(24, min=1, help="Windows back to recompute performance."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Compute the current windows' drift and performance, store them, evaluate alerts."""
    from knot.monitoring.monitor_run import monitor_run

    result = monitor_run(model, window=window, lookback=lookback)
    if json_out:
        print_json(result.model_dump(mode="json"))
        return
    say_store()
    from rich.console import Console

    Console().print(_summary(result))


@monitor_app.command("watch")
def watch(
    model: str = typer.Argument(..., help="Registered model name."),
    interval: float = typer.Option(30.0, min=0.1, help="Seconds between passes."),
    window: str | None = _WINDOW,
    passes: int = typer.Option(0, min=0, help="Stop after this many passes (0: until Ctrl-C)."),
) -> None:
    """Run `knot monitor run` every INTERVAL seconds with a live view; Ctrl-C (or
    SIGTERM) stops after the pass under way, a second Ctrl-C at once."""
    import signal
    import threading

    from rich.live import Live

    from knot.monitoring.monitor_run import monitor_run

    # A signal only sets a flag. Raised inside a pass, KeyboardInterrupt meets PyArrow
    # (which cancels its scan with an ordinary ArrowCancelled error when SIGINT has its
    # default handler) and worker threads: under load the watch outlived its Ctrl-C.
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    done = 0
    try:
        with Live(f"first pass over {model}...", refresh_per_second=4) as live:
            while not stop.is_set():
                result = monitor_run(model, window=window)
                done += 1
                live.update(_summary(result))
                if passes and done >= passes:
                    break
                stop.wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    typer.echo(f"stopped after {done} pass(es)", err=True)


@monitor_app.command("report")
def report(
    model: str = typer.Argument(..., help="Registered model name."),
    html_out: Path = typer.Option(..., "--html", help="Write the Plotly report here."),
    window: str | None = _WINDOW,
) -> None:
    """Draw drift per feature, metrics over time and the alert timeline into HTML."""
    from knot.monitoring.report_html import monitor_report

    written = monitor_report(model, html_out, window=window)
    typer.echo(f"report: {written}")


@monitor_app.command("alerts")
def alerts(
    model: str = typer.Argument(..., help="Registered model name."),
    state: str | None = typer.Option(None, help="Only 'fired' or 'resolved' events."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Alert events of MODEL, oldest first, and each rule's current state."""
    from knot.errors import Invalid
    from knot.monitoring.alerts.events import alert_events, alert_states

    if state is not None and state not in ("fired", "resolved"):
        raise Invalid(f"--state {state!r} is not known; use fired or resolved", field="state")
    events = alert_events(model, state=state)
    if json_out:
        print_json({"events": [e.model_dump() for e in events], "states": alert_states(model)})
        return
    rows = [
        (
            fmt_time(e.at_ms),
            e.rule,
            e.state,
            e.version,
            e.metric,
            fmt_value(e.value),
            fmt_value(e.threshold),
            fmt_time(e.window_start),
            e.webhook_status,
        )
        for e in events
    ]
    heads = ["at", "rule", "event", "version", "metric", "value", "threshold", "window", "webhook"]
    print_table(f"alert events of {model}", heads, rows)
    states = alert_states(model)
    print_table(
        "rule states",
        ["rule", "state", "streak", "last value"],
        [(n, s["state"], s["streak"], fmt_value(s["value"])) for n, s in states.items()],
    )


@rules_app.command("apply")
def rules_apply(path: Path = typer.Argument(..., help="Monitoring YAML file.")) -> None:
    """Store the model's monitoring settings and alert rules from PATH (all or nothing)."""
    from knot.monitoring.monitor_config import apply_config, load_config

    config = apply_config(load_config(path))
    names = ", ".join(r.name for r in config.rules) or "no rules"
    typer.echo(f"{config.settings.model}: applied {names}")


@rules_app.command("list")
def rules_list(
    model: str | None = typer.Argument(None, help="Only this model's rules."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Alert rules, by name."""
    from knot.monitoring.alerts.rules import list_alert_rules

    found = list_alert_rules(model)
    if json_out:
        print_json([r.model_dump() for r in found])
        return
    rows = [
        (
            r.name,
            r.model,
            f"{r.metric} {r.op} {r.threshold:g}",
            r.window,
            r.consecutive,
            r.version or "",
            r.webhook or "",
        )
        for r in found
    ]
    heads = ["name", "model", "condition", "window", "consecutive", "version", "webhook"]
    print_table("alert rules", heads, rows)


@rules_app.command("delete")
def rules_delete(name: str = typer.Argument(..., help="Rule name.")) -> None:
    """Remove a rule (its past events stay)."""
    from knot.monitoring.alerts.rules import delete_alert_rule

    delete_alert_rule(name)
    typer.echo(f"deleted rule {name}")


def feedback(
    model: str = typer.Argument(..., help="Registered model name."),
    request_id: str = typer.Argument(..., help="The request id the prediction answered with."),
    label: str = typer.Argument(..., help='The true value, as JSON (1, true, "yes") or text.'),
    row: int = typer.Option(0, min=0, help="Row of the request (0 for the first)."),
) -> None:
    """Record the true label of a prediction, any time after it was made."""
    from knot.monitoring.performance.feedback import feedback as send

    try:
        value: Any = json.loads(label)
    except ValueError:
        value = label  # plain text such as yes
    send(model, request_id, value, row=row)
    typer.echo(f"label for {request_id} row {row} recorded")
