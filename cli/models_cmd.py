"""audiotok models: what the registry knows and where weights go."""

from __future__ import annotations

import typer

from audiotok.cli.common import out_console

app = typer.Typer(
    help="List models, show where their weights go, download them.", no_args_is_help=True
)


def _presence(entry) -> str:
    from audiotok import weights

    if entry.shipped:
        return "shipped"
    if not entry.files:
        return "-"
    have = [weights.expected_path(entry, f).is_file() for f in entry.files]
    return "yes" if all(have) else "no"


@app.command("list")
def list_models(
    kind: str = typer.Option(None, help="Only this kind."),
    sources: bool = typer.Option(False, "--sources", help="Add where each model comes from."),
) -> int:
    """Each model's kind, rates, layers, licence, whether it streams (causal: `audiotok
    stream`) and whether its weights are here."""
    from rich.table import Table

    from audiotok import registry

    table = Table(show_lines=False, box=None, pad_edge=False)
    for col in ("name", "kind", "Hz", "frames/s", "layers", "stream", "weights", "licence"):
        table.add_column(col, no_wrap=col in ("name", "kind", "licence"))
    if sources:
        table.add_column("source", overflow="fold")
    for e in sorted(registry.entries(kind), key=lambda e: (e.kind, e.name)):
        row = [
            e.name,
            e.kind,
            f"{e.sample_rate}",
            f"{e.frame_rate:.6g}",
            str(e.num_layers or "-"),
            "yes" if e.streaming else "-",
            _presence(e),
            e.license.split(" (")[0],
        ]
        table.add_row(*row, *([e.source] if sources else []))
    out_console.print(table)
    out_console.print(
        f"weights live under {_root()}/<name>/; `audiotok models path NAME` tells "
        "which file goes where"
    )
    return 0


def _root() -> str:
    from audiotok import weights

    return str(weights.cache_root())


@app.command("path")
def model_path(name: str) -> int:
    """Where the weights of NAME go, and where to get them."""
    from audiotok import registry, weights

    e = registry.get(name)
    if e.shipped or not e.files:
        out_console.print(f"{name}: nothing to download ({e.source})")
        return 0
    for f in e.files:
        p = weights.expected_path(e, f)
        state = "present" if p.is_file() else "missing"
        out_console.print(f"{p}\t{state}\t{f.url or e.source}", soft_wrap=True)
    return 0


@app.command("download")
def download(name: str) -> int:
    """Fetch the weights of NAME into the cache and check their sha256 (needs network)."""
    from audiotok import registry, weights

    e = registry.get(name)
    for f in e.files:
        p = weights.download(e, f)
        out_console.print(f"{p}\tok")
    return 0


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="models")
