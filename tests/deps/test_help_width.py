"""Every --help is readable at 80 columns: no option name is cut (rich's tables cut them to
"--segment-seco…"); plain click help wraps the text instead."""

import typer

from audiotok.cli.app import app, run


def _commands(group, path=()):
    yield path
    for name, cmd in getattr(group, "commands", {}).items():
        yield from _commands(cmd, (*path, name))


def _long_names(group, path):
    cmd = group
    for name in path:
        cmd = cmd.commands[name]
    return [max(p.opts, key=len) for p in cmd.params if p.opts and p.opts[0].startswith("-")]


def test_every_help_at_80_columns_shows_whole_option_names(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    root = typer.main.get_command(app)
    paths = list(_commands(root))
    assert len(paths) > 15, paths  # the whole tree was walked
    for path in paths:
        assert run([*path, "--help"]) == 0, path
        out = capsys.readouterr().out
        assert "…" not in out, (path, out)
        assert max(len(line) for line in out.splitlines()) <= 80, path
        for opt in _long_names(root, path):
            assert opt in out, (path, opt)
