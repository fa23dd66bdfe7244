"""Exit codes and one-line errors of the ``audiotok`` entry point (issue 8).

Usage errors are typer's own (exit 2, no traceback); an unexpected exception is exit 3 with one
line naming it and where to report it (the traceback only with --debug / AUDIOTOK_DEBUG=1);
a full disk or a permission problem is exit 2; Ctrl-C is exit 130 with how to resume.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audiotok.cli.app import REPORT_URL

PY = sys.executable
# The real main(), with one extra command that fails the way we ask it to.
HARNESS = """
import os, sys, time
if os.environ.get("HIDE_CLICK"):
    sys.modules["click"] = None  # the base install has no click: `import click` must not happen
from audiotok.cli import app as A

@A.app.command("boom")
def boom(how: str) -> int:
    if how == "sleep":
        print("ready", flush=True)
        time.sleep(60)
    return int(how)

A.main()
"""


def harness(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PY, "-c", HARNESS, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PY, "-m", "audiotok", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["encode", "--bogus"], "No such option"),
        (["encode"], "Missing argument"),
        (["nosuchcmd"], "No such command"),
        (["models", "download"], "Missing argument"),
    ],
)
def test_usage_errors_are_typers_own_exit_2(args, words):
    r = cli(*args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and words in r.stderr and r.stdout == ""


def test_the_app_never_imports_click():
    """typer >= 0.22 vendors click (``typer._click``) and the base install has no click: our
    modules never import it (checked in the source), and with a vendoring typer the CLI works
    with ``import click`` made impossible (older typers need click themselves)."""
    import ast
    import importlib.util

    import audiotok.cli

    for folder in (Path(audiotok.__file__).parent, Path(audiotok.cli.__file__).parent):
        for py in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(py.read_text())):
                names = (
                    [a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                )  # fmt: skip
                assert not [n for n in names if n.split(".")[0] == "click"], py
    if importlib.util.find_spec("typer._click") is None:
        return  # this typer depends on click: hiding it would break typer, not us
    env = {"HIDE_CLICK": "1"}
    r = harness("boom", "--bogus", env=env)
    assert r.returncode == 2 and "No such option" in r.stderr and "Traceback" not in r.stderr
    r = harness("--help", env=env)
    assert r.returncode == 0 and "encode" in r.stdout and "--debug" in r.stdout
    assert harness("boom", "1", env=env).returncode == 1


@pytest.fixture
def boom(monkeypatch):
    """main() in this process with one extra command that fails the way it is asked to."""
    from audiotok.cli import app as A
    from audiotok.errors import AudiotokError

    def _boom(how: str) -> int:
        if how == "value":
            raise ValueError("boom\nsecond line")
        if how in ("ENOSPC", "EACCES", "EROFS", "EDQUOT", "ECONNRESET"):
            code = getattr(errno, how)
            raise OSError(code, os.strerror(code), "/data/tokens/shard-000001.parquet")
        if how == "interrupt":
            raise KeyboardInterrupt
        if how == "audiotok":
            raise AudiotokError("a problem the user can fix")
        return int(how)

    monkeypatch.setattr(A, "_debug", False)
    monkeypatch.delenv("AUDIOTOK_DEBUG", raising=False)
    sigint = signal.getsignal(signal.SIGINT)
    A.app.command("boom")(_boom)
    yield A
    A.app.registered_commands.pop()
    signal.signal(signal.SIGINT, sigint)


def _main(A, capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as e:
        A.main(list(args))
    return int(e.value.code), capsys.readouterr().err


def test_return_codes_and_audiotok_errors(boom, capsys):
    assert _main(boom, capsys, "boom", "0")[0] == 0
    assert _main(boom, capsys, "boom", "1")[0] == 1
    assert _main(boom, capsys, "boom", "audiotok") == (2, "error: a problem the user can fix\n")


def test_an_unexpected_error_is_one_line_exit_3(boom, capsys):
    code, err = _main(boom, capsys, "boom", "value")
    assert code == 3 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("internal error: ValueError: boom second line")
    assert REPORT_URL in lines[0] and "--debug" in lines[0]


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(boom, capsys, monkeypatch, how):
    if how == "flag":
        code, err = _main(boom, capsys, "--debug", "boom", "value")
    else:
        monkeypatch.setenv("AUDIOTOK_DEBUG", "1")
        code, err = _main(boom, capsys, "boom", "value")
    assert code == 3
    assert "Traceback (most recent call last)" in err and 'raise ValueError("boom' in err
    assert err.strip().splitlines()[-1].startswith("internal error: ValueError: boom")


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("ENOSPC", "resume"),
        ("EDQUOT", "resume"),
        ("EACCES", "permissions"),
        ("EROFS", "read-only"),
    ],
)
def test_disk_full_and_permissions_are_user_errors(boom, capsys, how, words):
    code, err = _main(boom, capsys, "boom", how)
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: /data/tokens/shard-000001.parquet: ")
    assert os.strerror(getattr(errno, how)) in lines[0] and words in lines[0]


def test_other_os_errors_are_internal(boom, capsys):
    code, err = _main(boom, capsys, "boom", "ECONNRESET")
    assert code == 3 and err.startswith("internal error: ConnectionResetError")


def test_keyboard_interrupt_prints_how_to_resume(boom, capsys):
    assert _main(boom, capsys, "boom", "interrupt") == (
        130,
        "interrupted: rerun the same command to resume\n",
    )


@pytest.mark.parametrize("attempt", range(3))
def test_a_real_sigint_prints_how_to_resume(attempt):
    p = subprocess.Popen(
        [PY, "-c", HARNESS, "boom", "sleep"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a shell's background job (CI) would hand down SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        time.sleep(0.05 * attempt)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130
    assert err == "interrupted: rerun the same command to resume\n"
