"""Multi-rate tokens in the contract: TokenSpec's per-codebook frame rates (old specs read
unchanged), the writer's two input layouts and its refusals, and the coarse_to_fine pattern
(exact inverse for several stride ladders)."""

from __future__ import annotations

import numpy as np
import pytest

import audiotok
from audiotok.errors import InvalidTokensError, SpecMismatchError
from audiotok.feed.patterns import get_pattern
from audiotok.feed.vocab import VocabError
from audiotok.spec import TokenSpec
from audiotok.store.tokens import TokenWriter

SNAC_LIKE = dict(
    kind="acoustic",
    name="toy",
    sample_rate=24000,
    frame_rate=48.0,
    num_codebooks=3,
    codebook_size=16,
    codebook_frame_rates=(12.0, 24.0, 48.0),
)


def test_spec_rates_strides_bitrate_and_old_dicts():
    spec = TokenSpec(**SNAC_LIKE)
    assert spec.multirate and spec.strides == (4, 2, 1) and spec.rates == (12.0, 24.0, 48.0)
    assert spec.bitrate == pytest.approx((12 + 24 + 48) * 4)
    assert TokenSpec.from_dict(spec.to_dict()) == spec
    old = {k: v for k, v in SNAC_LIKE.items() if k != "codebook_frame_rates"}
    single = TokenSpec(**old)
    assert "codebook_frame_rates" not in single.to_dict()  # written as before
    assert not single.multirate and single.strides == (1, 1, 1)
    assert single.bitrate == 48 * 3 * 4
    assert TokenSpec(**{**old, "codebook_frame_rates": (48.0,) * 3}) == single
    with pytest.raises(SpecMismatchError, match="whole number"):
        TokenSpec(**{**old, "codebook_frame_rates": (20.0, 24.0, 48.0)})
    with pytest.raises(SpecMismatchError, match="2 codebook frame rates"):
        TokenSpec(**{**old, "codebook_frame_rates": (24.0, 48.0)})
    with pytest.raises(SpecMismatchError, match="codebook_frame_rates"):
        single.check_same(spec)


def test_writer_takes_both_layouts_and_refuses_what_does_not_fit(tmp_path):
    spec = TokenSpec(**SNAC_LIKE)
    g = np.random.default_rng(0)
    parts = [g.integers(0, 16, 8 // s) for s in (4, 2, 1)]
    w = TokenWriter(tmp_path / "s", spec)
    w.add("a", "a.wav", 0.1, parts)  # one array per codebook
    repeated = np.stack([np.repeat(p, s) for p, s in zip(parts, (4, 2, 1), strict=True)])
    w.add("b", "b.wav", 0.1, repeated)
    bad = repeated.copy()
    bad[0, 1] = (bad[0, 0] + 1) % 16
    with pytest.raises(InvalidTokensError, match="not repeated 4 times"):
        w.add("c", "c.wav", 0.1, bad)
    with pytest.raises(InvalidTokensError, match="multiple of 4"):
        w.add("c", "c.wav", 0.1, np.zeros((3, 6), np.int64))
    with pytest.raises(InvalidTokensError, match="do not fit"):
        w.add("c", "c.wav", 0.1, [parts[0], parts[1][:-1], parts[2]])
    with pytest.raises(InvalidTokensError, match="outside"):
        w.add("c", "c.wav", 0.1, [parts[0] + 16, parts[1], parts[2]])
    w.close()
    store = audiotok.open_tokens(str(tmp_path / "s"))
    assert store.spec == spec
    np.testing.assert_array_equal(store.get("a"), store.get("b"))
    for k in range(3):
        np.testing.assert_array_equal(store.get_codebooks("a")[k], parts[k])
    assert dict(store)["a"].shape == (3, 8)


@pytest.mark.parametrize("strides", [(4, 2, 1), (8, 4, 2, 1), (2, 1), (1, 1, 1), (4, 1)])
def test_coarse_to_fine_inverts_exactly(strides):
    p = get_pattern("coarse_to_fine")
    st = np.array(strides)
    g = np.random.default_rng(len(strides))
    for groups in (0, 1, 5):
        t = groups * max(strides)
        ids = np.stack([np.repeat(g.integers(0, 100, t // s), s) for s in strides])
        seq = p.apply(ids, np.zeros(len(st), np.int64), -1, st)
        assert seq.shape == (p.length(t, len(st), np.zeros(len(st)), st),)
        assert len(seq) == sum(t // s for s in strides)  # every code once, none repeated
        np.testing.assert_array_equal(p.invert(seq, len(st), np.zeros(len(st)), -1, st), ids)
    if strides == (1, 1, 1):  # single rate: it is flatten
        np.testing.assert_array_equal(seq, get_pattern("flatten").apply(ids, st * 0, -1))


def test_coarse_to_fine_refuses_what_it_cannot_lay_out():
    p = get_pattern("coarse_to_fine")
    z = np.zeros(2, np.int64)
    with pytest.raises(VocabError, match="coarse to fine"):
        p.apply(np.zeros((2, 4), np.int64), z, -1, np.array([1, 4]))
    with pytest.raises(VocabError, match="whole number of groups"):
        p.apply(np.zeros((2, 6), np.int64), z, -1, np.array([4, 1]))
    with pytest.raises(VocabError, match="whole number of 5-id groups"):
        p.invert(np.zeros(7, np.int64), 2, z, -1, np.array([4, 1]))
    with pytest.raises(VocabError, match="different rates"):
        get_pattern("flatten").check(z, True, np.array([4, 1]))


def test_info_line_names_each_codebook_rate():
    from audiotok.cli.common import describe_spec

    line = describe_spec(TokenSpec(**SNAC_LIKE))
    assert "codebooks at 12 / 24 / 48 Hz" in line and "0.336 kbps" in line
    old = {k: v for k, v in SNAC_LIKE.items() if k != "codebook_frame_rates"}
    assert "codebooks at" not in describe_spec(TokenSpec(**old))


def test_eval_codebooks_measures_a_multirate_store_on_the_finest_grid(tmp_path, capsys):
    import json

    from audiotok.cli.app import main

    rate, phones = 50.0, ["a", "b", "c", "d"]
    spec = TokenSpec("acoustic", "toy", 16000, rate, 3, 64, codebook_frame_rates=(12.5, 25, 50))
    g = np.random.default_rng(0)
    w = TokenWriter(tmp_path / "tok", spec)
    (tmp_path / "align").mkdir()
    for u in range(4):
        seg = g.integers(0, 4, 25)  # 25 phones of 8 frames (2 coarse codes) each
        c0 = np.repeat(seg, 2) * 5 + 1  # one code per 4 frames: the phone
        w.add(f"u{u}", f"u{u}.wav", 4.0, [c0, g.integers(0, 64, 100), np.zeros(200, int)])
        with open(tmp_path / "align" / f"u{u}.tsv", "w") as f:
            for i, p in enumerate(seg):
                f.write(f"{i * 8 / rate}\t{(i + 1) * 8 / rate}\t{phones[p]}\n")
    w.close()
    with pytest.raises(SystemExit) as e:
        main(["eval", "codebooks", str(tmp_path / "tok"), "--align", str(tmp_path / "align"),
              "--json"])  # fmt: skip
    assert e.value.code == 0
    r = json.loads(capsys.readouterr().out)
    alone = [c["pnmi"] for c in r["codebooks"]]
    assert alone[0] > 0.99 and alone[1] < 0.5 and alone[2] == 0.0
