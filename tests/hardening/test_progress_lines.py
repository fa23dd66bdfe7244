"""Progress without a terminal: plain periodic lines on stderr (issue 8)."""

from __future__ import annotations

import io
import re
import time

import pytest

from audiotok.cli import common
from audiotok.cli.progress import PlainProgress, RichCorpusProgress
from audiotok.errors import AudiotokError

LINE = re.compile(
    r"^\[\d+:\d\d:\d\d\] encoding: (\d+)(?:/(\d+))? files, ([\d.]+)/([\d.]+) s of audio, "
    r"([\d.]+) s/s, ETA (\S+)$"
)


def test_a_line_says_files_seconds_rate_and_eta():
    now = [100.0]
    p = PlainProgress("encoding", 10.0, io.StringIO(), clock=lambda: now[0])
    task = p.add_task("encoding", total=0)
    with p:
        p.update(task, total=120.0, files_total=40)
        now[0] += 10.0
        p.advance(task, 30.0, files=10)
        p.advance(task, 0, files=1)  # a file that failed is done too
        assert p.line() == (
            "[0:00:10] encoding: 11/40 files, 30.0/120.0 s of audio, 3.0 s/s, ETA 0:00:30"
        )
        now[0] += 30.0
        p.advance(task, 90.0, files=29)
        assert p.line().endswith("40/40 files, 120.0/120.0 s of audio, 3.0 s/s, ETA 0:00:00")


def test_unknown_totals_are_not_invented():
    p = PlainProgress("encoding", 10.0, io.StringIO(), clock=lambda: 0.0)
    assert p.line() == "[0:00:00] encoding: 0 files, 0.0/0.0 s of audio, 0.0 s/s, ETA ?"


def test_without_a_terminal_lines_come_every_interval(monkeypatch, capsys):
    monkeypatch.setenv("AUDIOTOK_PROGRESS_INTERVAL", "0.05")
    progress, task = common.corpus_progress("encoding", quiet=False)
    assert isinstance(progress, PlainProgress)
    with progress:
        progress.update(task, total=10.0, files_total=4)
        progress.advance(task, 2.5, files=1)
        time.sleep(0.4)
    time.sleep(0.2)  # nothing after the context closes
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) >= 3
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    m = parsed[-1]
    assert m is not None and m.group(1, 2, 3, 4) == ("1", "4", "2.5", "10.0")
    assert "\x1b" not in "".join(lines)  # nothing fancy: no escape codes


def test_quiet_prints_nothing(monkeypatch, capsys):
    monkeypatch.setenv("AUDIOTOK_PROGRESS_INTERVAL", "0.02")
    progress, task = common.corpus_progress("encoding", quiet=True)
    with progress:
        progress.update(task, total=1.0, files_total=1)
        progress.advance(task, 1.0, files=1)
        time.sleep(0.1)
    assert capsys.readouterr().err == ""


def test_a_bad_interval_is_a_usage_error(monkeypatch):
    for bad in ("0", "-1", "soon", "nan"):
        monkeypatch.setenv("AUDIOTOK_PROGRESS_INTERVAL", bad)
        with pytest.raises(AudiotokError, match="AUDIOTOK_PROGRESS_INTERVAL"):
            common.corpus_progress("encoding", quiet=False)


def test_on_a_terminal_the_bar_counts_files_too(monkeypatch):
    monkeypatch.setattr(common, "_stderr_is_terminal", lambda: True)
    progress, task = common.corpus_progress("encoding", quiet=False)
    assert isinstance(progress, RichCorpusProgress)
    progress.update(task, total=10.0, files_total=3)
    progress.advance(task, 4.0, files=2)
    progress.advance(task, 0, files=1)
    (t,) = progress.tasks
    assert t.completed == 4.0 and t.fields["files_done"] == 3 and t.fields["files_total"] == 3
