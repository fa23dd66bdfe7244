"""The typer app. Commands are thin: they parse, call library functions, print.

Exit codes: 0 everything done; 1 some inputs failed (the rest were encoded);
2 bad usage or configuration (unknown model, missing weights, bad paths); 130 interrupted.
Nothing here imports torch at import time, so ``audiotok --help`` is fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

app = typer.Typer(
    name="audiotok",
    help="Speech to discrete tokens (semantic, acoustic, hybrid) and back.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# Each command module exposes register(app).
COMMAND_MODULES = (
    "encode_cmd",
    "decode_cmd",
    "info_cmd",
    "models_cmd",
    "extract_cmd",
    "kmeans_cmd",
    "eval_cmd",
)
for _name in COMMAND_MODULES:
    importlib.import_module(f"audiotok.cli.{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    import warnings

    import click

    # torch's weight_norm deprecation, raised by the codec packages we wrap: not the user's.
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.nn\.utils")

    from audiotok.errors import AudiotokError

    try:
        rv = app(args=argv, prog_name="audiotok", standalone_mode=False)
    except click.exceptions.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except AudiotokError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
