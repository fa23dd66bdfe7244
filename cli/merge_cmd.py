"""audiotok merge: stores of one tokenizer (or extractor) -> one store (``--slice`` slices)."""

from __future__ import annotations

from pathlib import Path

import typer


def merge(
    inputs: list[Path] = typer.Argument(
        ..., help="Token stores (or feature stores) to merge, e.g. tok_*/ of --slice runs."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="The merged store (resumes)."),
    overwrite: bool = typer.Option(False, help="Start the output again instead of resuming."),
) -> int:
    """Merge stores of one tokenizer (e.g. --slice slices) into one store.

    Identity checked, shards verified, duplicate utterances refused; files are hard-linked
    where possible."""
    from audiotok.cli.common import check_output_dir, err_console, out_console
    from audiotok.pipeline.merge import merge_stores

    check_output_dir(output)
    s = merge_stores(
        inputs,
        output,
        overwrite=overwrite,
        warn=lambda m: err_console.print(f"[yellow]warning[/yellow]: {m}", soft_wrap=True),
    )
    taken = sum(s.adopted.values())
    out_console.print(
        f"merged {len(s.adopted)} store(s), {taken} utterances, into {output}: it holds "
        f"{s.utterances} utterances"
        + (f"; {len(s.skipped)} input(s) were merged already" if s.skipped else "")
        + (f"; {s.errors} failed inputs listed (`audiotok info {output}`)" if s.errors else "")
    )
    return 0


def register(app: typer.Typer) -> None:
    app.command("merge")(merge)
