"""Nothing silently wrong (#25): each file of a store is damaged in turn, and every reader
gives the right codes or one error naming the damage."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import audiotok
from audiotok.errors import AudiotokError, CorruptStoreError
from audiotok.feed.source import BlockReader, as_source
from audiotok.spec import TokenSpec
from audiotok.store import TokenWriter

SPEC = TokenSpec("acoustic", "codec", 24000, 75.0, 4, 1024, weights_sha256="cd")
SHARD = "shard-000001.parquet"
FLAT = ".codes/shard-000001.npy"


def _flip(p: Path, at: int, n: int = 8) -> None:
    b = bytearray(p.read_bytes())
    at = at % len(b)
    for i in range(at, min(at + n, len(b))):
        b[i] ^= 0xFF
    p.write_bytes(bytes(b))


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


DAMAGE = {
    "parquet-middle": (SHARD, lambda p: _flip(p, p.stat().st_size // 2)),
    "parquet-footer": (SHARD, lambda p: _flip(p, p.stat().st_size - 16)),
    "parquet-truncated": (SHARD, _truncate),
    "parquet-deleted": (SHARD, os.unlink),
    "flat-data": (FLAT, lambda p: _flip(p, p.stat().st_size - 40)),
    "flat-header": (FLAT, lambda p: _flip(p, 20, 12)),
    "flat-truncated": (FLAT, _truncate),
    "record": (".manifest.json", lambda p: _flip(p, p.stat().st_size // 2)),
}


@pytest.fixture
def store(tmp_path):
    data = {f"u{i}": np.random.default_rng(i).integers(0, 1024, (4, 20 + i)) for i in range(7)}
    w = TokenWriter(tmp_path / "tok", SPEC, shard_size=3)
    for uid, c in data.items():
        w.add(uid, f"{uid}.wav", 0.5, c)
    w.close()
    return tmp_path / "tok", data


def _iterate(d):
    return dict(audiotok.open_tokens(str(d)))


def _get(d):
    ts = audiotok.open_tokens(str(d))
    return {u: ts.get(u) for u in ("u4", "u0")}


def _rows(d):
    return {r["id"]: r["codes"] for r in audiotok.open_tokens(str(d)).rows()}


def _row(d):
    return {"u3": audiotok.open_tokens(str(d)).row("u3")["codes"]}


def _table(d):
    t = audiotok.open_tokens(str(d)).to_table().to_pydict()
    return {u: np.array(c).reshape(4, -1) for u, c in zip(t["id"], t["codes"], strict=True)}


def _feed(d):
    r = BlockReader(as_source(str(d)))
    out = {}
    for i in range(len(r)):
        b = r.read(i)
        out.update({u: b.codes(j) for j, u in enumerate(b.ids)})
    return out


READERS = {"iterate": _iterate, "get": _get, "rows": _rows, "row": _row, "table": _table,
           "feed": _feed}  # fmt: skip


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("reader", list(READERS))
def test_every_reader_gives_right_codes_or_names_the_damage(store, damage, reader):
    d, data = store
    READERS[reader](d)  # read once intact: a process that read a file before still notices
    name, hurt = DAMAGE[damage]
    hurt(d / name)
    try:
        got = READERS[reader](d)
    except CorruptStoreError as e:
        msg = str(e)
        assert "\n" not in msg
        assert (SHARD in msg and "rerun the encode command" in msg) or ".manifest.json" in msg
        return
    for uid, codes in got.items():  # no error: then every code is right
        np.testing.assert_array_equal(codes, data[uid])


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_export_names_the_damage_in_one_line(store, damage, tmp_path, capsys):
    from audiotok.cli.app import run

    d, _ = store
    name, hurt = DAMAGE[damage]
    hurt(d / name)
    rc = run(["export", str(d), "--to", "nanogpt", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert SHARD in err or ".manifest.json" in err


def test_a_damaged_npy_header_is_not_an_internal_error(store):
    d, _ = store
    p = d / FLAT
    b = bytearray(p.read_bytes())
    b[12:20] = b"{'descr\x00"  # what a bit flip in numpy's header dict looks like to its parser
    p.write_bytes(bytes(b))
    with pytest.raises(AudiotokError, match="shard-000001"):
        _iterate(d)
