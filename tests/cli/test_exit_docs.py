"""Every exit code the README or a `--help` text documents has a subprocess test (in
test_exit_codes*.py), and run_app turns each way a command can end into its code and
one line on stderr."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.main import get_command

from knot.cli import app
from knot.cli._exit import check_failed, run_app
from knot.errors import KnotError
from tests.cli import test_exit_codes as codes
from tests.cli import test_exit_codes_models as models
from tests.cli import test_run_prefix_cli as prefixes
from tests.cli.knot_process import ROOT
from tests.features import test_serving as features
from tests.governance import test_audit_anchor as anchors
from tests.mlflow_import import test_hostile as mlflow_import
from tests.packaging import test_hostile_registry as hostile
from tests.server import test_spool_live as spool
from tests.serving import test_extra_columns as extra_columns

#: "exits 1", "Exit 1 when", "exit code 2", "Exit codes: 0 ok"
EXIT = re.compile(r"\bexit(?:s|\s+codes?)?:?\s+[0-9]", re.IGNORECASE)
#: "knot data register churn", "`knot`", but not knot.check or knot-check.yaml
COMMAND = re.compile(r"\bknot(?![\w.-])((?: [a-z][a-z-]*)*)")

#: each command whose documentation names an exit code -> the subprocess test of it
COVERED: dict[str, Callable[..., None]] = {
    "knot": codes.test_usage_errors_are_one_line_with_exit_2,
    "knot check": codes.test_knot_check_exits_1_on_a_failing_gate_and_2_on_a_bad_config,
    "knot audit verify": codes.test_audit_verify_exits_1_on_an_edited_record,
    "knot data register": codes.test_data_register_exits_1_for_a_rejected_version,
    "knot data validate": codes.test_data_validate_exits_1_when_a_rule_fails,
    "knot monitor drift": codes.test_monitor_drift_exits_1_only_with_fail_on_drift,
    "knot verify": models.test_knot_verify_exits_1_unless_the_key_signed_the_kit,
    "knot retrain": models.test_knot_retrain_exits_1_when_the_challenger_is_rejected,
    "knot pull": hostile.test_pull_refuses_a_lying_registry,
    "knot features skew": features.test_served_from_entity_ids_logged_and_skew_checked,
    "knot predict": extra_columns.test_a_missing_model_column_exits_2_naming_it_and_writes_nothing,
    "knot runs show": prefixes.test_ambiguous_and_unknown_prefixes_exit_2_naming_the_matches,
    "knot runs sync": (
        spool.test_a_process_that_exits_while_the_server_is_down_is_sent_by_knot_runs_sync
    ),
    "knot audit anchor": anchors.test_a_correctly_hashed_row_appended_with_the_head_moved_is_named,
    "knot import mlflow": (
        mlflow_import.test_missing_files_are_listed_as_failed_and_a_rerun_after_the_fix_completes
    ),
}


def _commands() -> dict[str, Any]:
    """Every command and group of `knot` by its path ("knot data register")."""
    found: dict[str, Any] = {}

    def walk(command: Any, path: str) -> None:
        found[path] = command
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(get_command(app), "knot")
    return found


def _resolve(words: str) -> str:
    """The command a README mention names: "knot data register churn x" -> knot data
    register (the words after it are its arguments)."""
    commands, path = _commands(), "knot"
    for word in words.split():
        if f"{path} {word}" not in commands:
            break
        path = f"{path} {word}"
    return path


def help_exits() -> set[str]:
    documented = set()
    for path, command in _commands().items():
        texts = [command.help, command.epilog, *(getattr(p, "help", None) for p in command.params)]
        if EXIT.search(" ".join(t for t in texts if t)):
            documented.add(path)
    return documented


def readme_exits(text: str) -> dict[str, str]:
    """Command -> the README line that documents its exit code: a line saying "exits N"
    (without a command, the nearest one above it in its paragraph counts), or any line
    naming a command under an "Exit codes" heading."""
    lines = text.splitlines()
    found: dict[str, str] = {}
    section = ""
    for i, line in enumerate(lines):
        if line.startswith("#"):
            section = line
        if "exit codes" in section.lower() and not line.startswith("#"):
            found.update((_resolve(words), line.strip()) for words in COMMAND.findall(line))
        if not EXIT.search(line):
            continue
        above = i
        names = COMMAND.findall(line)
        while not names and above > 0 and lines[above - 1].strip():
            above -= 1
            names = COMMAND.findall(lines[above])
        assert names, f"README.md:{i + 1} documents an exit code of no command: {line}"
        for words in names:
            found[_resolve(words)] = line.strip()
    return found


def test_every_documented_exit_code_has_a_subprocess_test() -> None:
    in_help = help_exits()
    in_readme: dict[str, str] = {}
    # the CLI reference is generated from the --help texts, which help_exits reads
    pages = [p for p in sorted((ROOT / "docs").rglob("*.md")) if p.name != "cli.md"]
    for page in [ROOT / "README.md", *pages]:
        in_readme |= readme_exits(page.read_text(encoding="utf-8"))
    assert {"knot check", "knot audit verify", "knot data validate"} <= set(in_readme)
    assert in_help <= set(COVERED), in_help - set(COVERED)
    assert set(in_readme) <= set(COVERED), in_readme
    assert set(COVERED) <= in_help | set(in_readme), "COVERED names an undocumented command"


def test_the_readme_reader_finds_commands_in_an_exit_codes_table() -> None:
    text = (
        "## Exit codes\n\n| code | meaning |\n| --- | --- |\n"
        "| 1 | a gate of `knot check`, a rule of `knot data validate churn@2` |\n"
        "| 2 | a bare `knot` prints its help |\n\n## Next\n\n"
        "`knot.check` is the SDK form of `knot runs list`\n"
    )
    assert set(readme_exits(text)) == {"knot", "knot check", "knot data validate"}


def _ending(
    body: Callable[[], None], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    one = typer.Typer(add_completion=False)
    one.command()(body)
    monkeypatch.setattr("sys.argv", ["knot"])
    with pytest.raises(SystemExit) as ended:
        run_app(one)
    code = ended.value.code
    assert isinstance(code, int)
    return code, capsys.readouterr().err


def _raise(exc: BaseException) -> Callable[[], None]:
    def body() -> None:
        raise exc

    return body


def test_each_ending_has_its_code_and_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def ends(body: Callable[[], None]) -> tuple[int, str]:
        return _ending(body, monkeypatch, capsys)

    assert ends(lambda: None) == (0, "")
    assert ends(lambda: check_failed("3 rows\n  out of range")) == (
        1,
        "failed: 3 rows out of range\n",
    )
    assert ends(_raise(typer.Exit(1))) == (1, "")
    assert ends(_raise(KnotError("store down:\n\tis it running?"))) == (
        2,
        "error: store down: is it running?\n",
    )
    assert ends(_raise(FileNotFoundError(2, "No such file or directory", "/x/y.html"))) == (
        2,
        "error: No such file or directory: /x/y.html; check the path and its permissions\n",
    )
    assert ends(_raise(KeyboardInterrupt())) == (130, "")


def test_a_bug_is_one_line_and_its_traceback_is_kept(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _ending(_raise(RuntimeError("boom")), monkeypatch, capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: unexpected RuntimeError: boom; this is a bug in Knot")
    saved = Path(err.rsplit("saved in ", 1)[1].strip())
    try:
        text = saved.read_text(encoding="utf-8")
        assert text.startswith("Traceback") and "RuntimeError: boom" in text
    finally:
        saved.unlink()
