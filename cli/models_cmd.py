"""audiotok models: what the registry knows and where weights go."""

from __future__ import annotations

import typer

from audiotok.cli.common import out_console

app = typer.Typer(
    rich_markup_mode=None,  # click's plain help: wraps at any width, never cuts an option name
    help="List models, show where their weights go, download them.",
    no_args_is_help=True,
)


def _presence(entry) -> str:
    from audiotok import weights

    if entry.shipped:
        return "shipped"
    if not entry.files:
        return "-"
    have = [weights.expected_path(entry, f).is_file() for f in entry.files]
    return "yes" if all(have) else "no"


def _check_state(entry, wf) -> str:
    """How a file is verified: by its published sha256 (or prefix), or by the digest recorded
    at its first use ("first-use" before that, "first-use: recorded" after)."""
    from audiotok import weights

    if wf.check != "first-use":
        return wf.check
    return "first-use: recorded" if weights.recorded_digest(wf) else "first-use"


def _revision(entry) -> str:
    if entry.shipped or not entry.files:
        return "shipped" if entry.shipped else "-"
    return ", ".join(dict.fromkeys(f.pin for f in entry.files))


def _verification(entry) -> str:
    if entry.shipped or not entry.files:
        return "-"
    states = [_check_state(entry, f) for f in entry.files]
    if len(set(states)) == 1:
        return states[0]
    return " / ".join(f"{f.filename}: {s}" for f, s in zip(entry.files, states, strict=True))


@app.command("list")
def list_models(
    kind: str = typer.Option(None, help="Only this kind."),
    sources: bool = typer.Option(False, "--sources", help="Add where each model comes from."),
) -> int:
    """Each model's kind, rates, layers, whether it streams (causal: `audiotok stream`),
    licence, whether its weights are here, the revision its downloads are pinned to and how
    they are verified (sha256, sha256 prefix, first-use)."""
    from rich.table import Table

    from audiotok import registry

    cols = ["name", "kind", "Hz", "frames/s", "layers", "stream", "weights", "licence"]
    cols += ["revision", "check"]
    cols += ["source"] if sources else []
    table = Table(show_lines=False, box=None, pad_edge=False)
    for col in cols:
        table.add_column(col, no_wrap=col in ("name", "kind", "licence"), overflow="fold")
    rows = []
    for e in sorted(registry.entries(kind), key=lambda e: (e.kind, e.name)):
        row = [
            e.name,
            f"{e.kind}, encode-only" if e.encode_only else e.kind,
            f"{e.sample_rate}",
            f"{e.frame_rate:.6g}",
            str(e.num_layers or "-"),
            "yes" if e.streaming else "-",
            _presence(e),
            e.license.split(" (")[0],
            _revision(e),
            _verification(e),
        ]
        rows.append([*row, *([e.source] if sources else [])])
    if not out_console.is_terminal:  # a pipe or a file: every column, tab-separated
        for r in [cols, *rows]:
            print("\t".join(r))  # (rich would expand the tabs)
    else:
        for r in rows:
            table.add_row(*r)
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
        facts = f"{state}\t{f.pin}\t{_check_state(e, f)}"
        out_console.print(f"{p}\t{facts}\t{f.url or e.source}", soft_wrap=True)
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
