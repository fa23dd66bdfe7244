"""audiotok info: what a token store holds; ``--check`` verifies every shard."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from audiotok.cli.common import describe_spec, err_console, out_console


def info(
    store: Path = typer.Argument(..., help="Token store directory."),
    as_json: bool = typer.Option(False, "--json", help="Print the commit record as JSON."),
    max_errors: int = typer.Option(20, min=0, help="How many errors to list."),
    check: bool = typer.Option(
        False, "--check", help="Verify every shard against the sizes and sha256s in the record."
    ),
) -> int:
    """Print the tokenizer spec and recipe, counts, duration, frames and the errors of the runs."""
    from audiotok import open_tokens

    ts = open_tokens(str(store))
    m = ts.manifest
    if as_json:
        print(m.to_json().decode())
        return _check(ts, store) if check else 0
    spec = ts.spec
    out_console.print(f"store       {store}")
    out_console.print(f"tokenizer   {describe_spec(spec)}")
    if ts.recipe is not None:
        out_console.print(f"recipe      {json.dumps(ts.recipe.to_dict())}", soft_wrap=True)
    out_console.print(f"weights     sha256 {spec.weights_sha256 or '(none: computed features)'}")
    if spec.params:
        out_console.print(f"params      {json.dumps(spec.params)}", soft_wrap=True)
    if spec.semantic_codebooks:
        out_console.print(f"semantic    codebook(s) {list(spec.semantic_codebooks)}")
    out_console.print(f"audio root  {ts.audio_root or '(not recorded)'}")
    out_console.print(f"utterances  {m.num_utterances} in {len(m.shards)} shard(s)")
    hours = m.duration_s / 3600
    out_console.print(f"duration    {m.duration_s:.2f} s ({hours:.3f} h)")
    out_console.print(f"frames      {m.num_frames}")
    out_console.print(f"errors      {len(m.errors)}")
    for e in m.errors[:max_errors]:
        out_console.print(f"  {e['path']}: {e['reason']}", soft_wrap=True)
    if len(m.errors) > max_errors:
        out_console.print(f"  ... and {len(m.errors) - max_errors} more (--max-errors, --json)")
    return _check(ts, store) if check else 0


def _check(ts, store: Path) -> int:
    broken = ts.verify(checksums=True)
    if not broken:
        out_console.print(f"check       all {len(ts.manifest.shards)} shard(s) intact")
        return 0
    n = sum(int(e["num_utterances"]) for e, _ in broken)
    for entry, why in broken:
        err_console.print(f"[red]broken[/red]: {store}/{entry['file']}: {why}", soft_wrap=True)
    err_console.print(
        f"{len(broken)} broken shard(s) holding {n} utterance(s): rerun the encode command "
        f"that wrote {store} (same options); it drops the broken shards and re-encodes "
        "exactly their utterances",
        soft_wrap=True,
    )
    return 1


def register(app: typer.Typer) -> None:
    app.command("info")(info)
