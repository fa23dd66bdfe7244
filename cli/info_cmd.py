"""audiotok info: what a token store holds."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from audiotok.cli.common import describe_spec, out_console


def info(
    store: Path = typer.Argument(..., help="Token store directory."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
    max_errors: int = typer.Option(20, help="How many errors to list."),
) -> int:
    """Print the tokenizer spec, counts, duration, frames and the errors of the runs."""
    from audiotok import open_tokens

    ts = open_tokens(str(store))
    m = ts.manifest
    if as_json:
        print(json.dumps(m.to_dict(), indent=1))
        return 0
    spec = ts.spec
    out_console.print(f"store       {store}")
    out_console.print(f"tokenizer   {describe_spec(spec)}")
    out_console.print(f"weights     sha256 {spec.weights_sha256 or '(none: computed features)'}")
    if spec.params:
        out_console.print(f"params      {json.dumps(spec.params)}")
    out_console.print(f"utterances  {m.num_utterances} in {len(m.shards)} shard(s)")
    hours = m.duration_s / 3600
    out_console.print(f"duration    {m.duration_s:.2f} s ({hours:.3f} h)")
    out_console.print(f"frames      {m.num_frames}")
    out_console.print(f"errors      {len(m.errors)}")
    for e in m.errors[:max_errors]:
        out_console.print(f"  {e['path']}: {e['reason']}", soft_wrap=True)
    if len(m.errors) > max_errors:
        out_console.print(f"  ... and {len(m.errors) - max_errors} more (--max-errors, --json)")
    return 0


def register(app: typer.Typer) -> None:
    app.command("info")(info)
