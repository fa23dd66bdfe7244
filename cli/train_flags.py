"""The training commands' config: ``--config FILE`` (or, for ``--resume``, the run's own
``OUTPUT/train.json``) overridden by the flags given on the command line.

A flag left at its default does not override the file; a flag given does (its dotted key in
the config: ``--lr`` sets ``optim.lr``). Without a file the config's own defaults apply,
which are the flags' defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

CONFIG_HELP = (
    "Training config (JSON, as the train.json a run writes); the flags given override it. "
    "With --resume and no --config: OUTPUT/train.json."
)


def given(ctx: typer.Context, name: str) -> bool:
    """Whether the parameter ``name`` came from the command line (not its default). By the
    source's name: typer may carry its own copy of click's ``ParameterSource``."""
    src = ctx.get_parameter_source(name)
    return getattr(src, "name", "DEFAULT") not in ("DEFAULT", "DEFAULT_MAP")


def build(
    ctx: typer.Context,
    cls: type,
    config_file: Path | None,
    output: Path | None,
    resume: bool,
    flags: dict[str, tuple[str, Any]],
) -> Any:
    """The config: the file, then ``flags`` (parameter name -> (dotted key, value)) that were
    given; ``output`` sets ``output``."""
    from audiotok.train import config

    if config_file is not None:
        cfg = config.load(cls, config_file)
    elif resume and output is not None and (output / config.FILE).is_file():
        cfg = config.load(cls, output / config.FILE)
    else:
        cfg = cls()
    values = {key: value for name, (key, value) in flags.items() if given(ctx, name)}
    if output is not None:
        values["output"] = str(output)
    return config.override(cfg, values)


def run_training(
    train: Callable[..., dict[str, Any]], cfg: Any, resume: bool, quiet: bool
) -> tuple[dict[str, Any], list[str]]:
    """``train(cfg, ...)`` (``train_hybrid``, ``train_vocoder``) with the commands' failure
    report: each input that fails is one line naming it, and is collected. Returns the run's
    summary and the failed inputs' paths."""
    from audiotok.cli.common import report_error

    failed: list[str] = []

    def on_error(item: Any, reason: str) -> None:
        failed.append(item.path)
        report_error(item, reason)

    return train(cfg, resume=resume, progress=not quiet, on_error=on_error), failed


def comma_list(text: str) -> list[str]:
    return [d.strip() for d in text.split(",") if d.strip()]
