"""The typer app. Commands are thin: they parse, call library functions, print.

Exit codes: 0 everything done; 1 some inputs failed (the rest were encoded); 2 bad usage or
configuration (unknown model, missing weights, bad paths, a full disk, no permission);
3 an internal error (a bug: reported as one line, the traceback with ``--debug``);
130 interrupted. Nothing here imports torch at import time, so ``audiotok --help`` is fast.

Only ``typer`` is imported, never ``click``: typer >= 0.22 vendors its own click
(``typer._click``) and the base install has no ``click``. The exception classes are found
through typer's public names, so older typers (which re-export click's) work too.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import signal
import sys
import traceback
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

REPORT_URL = "https://github.com/audiotok/audiotok/issues"
EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class _Interrupted(Exception):
    """Ctrl-C, carried past typer: typer turns KeyboardInterrupt into a silent ``Exit(130)``
    (0.2x) or into "Aborted!" with exit 1 (older), so :func:`main` would never see it."""


class _Group(TyperGroup):
    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt as e:
            raise _Interrupted() from e

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as e:
            raise _Interrupted() from e


app = typer.Typer(
    rich_markup_mode=None,  # click's plain help: wraps at any width, never cuts an option name
    name="audiotok",
    cls=_Group,
    help="Speech to discrete tokens (semantic, acoustic, hybrid) and back.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_debug = False


@app.callback()
def _options(
    debug: bool = typer.Option(
        False,
        "--debug",
        help="Show the full traceback of an unexpected error (or set AUDIOTOK_DEBUG=1).",
    ),
) -> None:
    global _debug
    _debug = _debug or debug


# Each command module exposes register(app).
COMMAND_MODULES = (
    "encode_cmd",
    "decode_cmd",
    "info_cmd",
    "models_cmd",
    "extract_cmd",
    "kmeans_cmd",
    "eval_cmd",
    "export_cmd",
    "vocoder_cmd",
    "merge_cmd",
    "hybrid_cmd",
    "compare_cmd",
    "stream_cmd",
)
for _name in COMMAND_MODULES:
    importlib.import_module(f"audiotok.cli.{_name}").register(app)

# OS errors that are the user's to fix (disk, permissions, paths), with what to do.
_USER_OS_ERRORS = {
    errno.ENOSPC: "free some space (or choose another --output) and rerun the same command "
    "to resume",
    errno.EDQUOT: "free some of your quota (or choose another --output) and rerun the same "
    "command to resume",
    errno.EACCES: "choose a path you may write to, or fix its permissions",
    errno.EPERM: "choose a path you may write to, or fix its permissions",
    errno.EROFS: "the file system is read-only: choose another --output",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.EISDIR: "the path is a folder where a file is expected: choose another path",
    errno.ENAMETOOLONG: "choose a shorter path",
}


def _click_exception_types() -> tuple[type[BaseException], type[BaseException]]:
    """(ClickException, Abort) of whichever click typer uses (vendored or the package)."""
    base = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
    return base, typer.Abort


def _show_usage_error(e: BaseException) -> None:
    """typer's own rendering of a usage error (rich panel when rich is there)."""
    try:
        from typer import rich_utils

        rich_utils.rich_format_error(e)  # type: ignore[arg-type]
    except ImportError:
        e.show()  # type: ignore[attr-defined]


def _debug_enabled() -> bool:
    return _debug or os.environ.get("AUDIOTOK_DEBUG", "") not in ("", "0", "false", "no")


def _os_error_line(e: OSError) -> str | None:
    hint = _USER_OS_ERRORS.get(e.errno) if e.errno is not None else None
    if hint is None:
        return None
    where = f"{e.filename}: " if e.filename else ""
    return f"error: {where}{e.strerror or os.strerror(e.errno or 0)} ({hint})"


def _exit_interrupted(message: str = "interrupted: rerun the same command to resume") -> NoReturn:
    # A second Ctrl-C while we print and exit ends the process at once, no traceback.
    with contextlib.suppress(ValueError):  # ValueError: not the main thread
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    print(message, file=sys.stderr, flush=True)
    sys.exit(EXIT_INTERRUPTED)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code (raises SystemExit only for interrupts)."""
    import warnings

    # torch's weight_norm deprecation, raised by the codec packages we wrap: not the user's.
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.nn\.utils")

    click_exception, abort = _click_exception_types()
    try:
        return _run(argv, click_exception, abort)
    finally:
        from audiotok.cli.common import restore_process_state

        restore_process_state()


def _run(argv: list[str] | None, click_exception: Any, abort: Any) -> int:
    from audiotok.cli.common import already_reported
    from audiotok.errors import AudiotokError

    try:
        rv = app(args=argv, prog_name="audiotok", standalone_mode=False)
    except (KeyboardInterrupt, _Interrupted):
        _exit_interrupted()
    except click_exception as e:
        _show_usage_error(e)
        return int(getattr(e, "exit_code", EXIT_USAGE))
    except abort:  # typer's Abort: end of input at a prompt
        _exit_interrupted("aborted")
    except AudiotokError as e:
        if already_reported(str(e)):
            # --strict: the failing file was reported on its own line already
            print("error: stopped at the first file that failed (--strict)", file=sys.stderr)
        else:
            print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        line = _os_error_line(e)
        if line is None:
            return _internal_error(e)
        if _debug_enabled():
            traceback.print_exc()
        print(line, file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:  # noqa: BLE001 - the last resort: one line, not a traceback
        return _internal_error(e)
    if isinstance(rv, bool) or not isinstance(rv, int):
        return EXIT_OK
    return rv


def _internal_error(e: BaseException) -> int:
    if _debug_enabled():
        traceback.print_exc()
    msg = str(e).strip().replace("\n", " ")
    msg = msg[:300] + ("..." if len(msg) > 300 else "")
    print(
        f"internal error: {type(e).__name__}{': ' + msg if msg else ''} "
        f"(a bug in audiotok: please report it at {REPORT_URL} with the command you ran"
        + ("" if _debug_enabled() else " and the traceback that --debug prints")
        + ")",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> None:
    """The ``audiotok`` command: :func:`run`, then exit with its code."""
    try:
        code = run(argv)
    except KeyboardInterrupt:  # Ctrl-C outside the command itself (while printing, ...)
        _exit_interrupted()
    sys.exit(code)


if __name__ == "__main__":
    main()
