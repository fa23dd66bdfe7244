"""--slice i/N corpus slices and `audiotok merge` (local engine; no Ray needed)."""

from __future__ import annotations

import random
import shutil

import numpy as np
import pytest
from engine_helpers import assert_same_store, cli, record, shard_files, token_content

from audiotok.corpus import AudioItem
from audiotok.errors import AudiotokError, SpecMismatchError
from audiotok.pipeline import merge as merge_mod
from audiotok.pipeline.api import scan_inputs
from audiotok.pipeline.merge import merge_stores
from audiotok.pipeline.slices import CorpusSlice, assign, cut, parse_slice, recorded_slice
from audiotok.spec import TokenSpec
from audiotok.store import TokenWriter, open_features

from audio_fixtures import BAD

N = 3


@pytest.fixture
def corpus(tmp_path, small_corpus, bad_corpus, make_wav):
    """Valid files of several lengths and rates in two folders, and the bad-input corpus."""
    for i in range(4):
        make_wav(f"corpus/c/v{i}.wav", 0.4 + 0.35 * i, 16000, seed=10 + i)
    return [small_corpus, bad_corpus]


def _slices(corpus, out_root, n=N, *extra):
    for i in range(n):
        code = cli("encode", *corpus, "-o", out_root / f"tok_{i}", "--slice", f"{i}/{n}",
                   "--num-workers", "0", "-q", *extra)  # fmt: skip
        assert code in (0, 1)
    return [out_root / f"tok_{i}" for i in range(n)]


def test_parse_slice():
    assert parse_slice("3/16") == CorpusSlice(3, 16) and str(CorpusSlice(3, 16)) == "3/16"
    assert parse_slice("0/1") == CorpusSlice(0, 1)
    for bad in ("16/16", "-1/4", "1/0", "a/b", "3", "1/2/3", ""):
        with pytest.raises(AudiotokError, match="--slice"):
            parse_slice(bad)
    with pytest.raises(AudiotokError, match="--shard"):  # the flag the user typed is named
        parse_slice("4/4", "--shard")


def test_stores_of_the_former_spelling_are_read_as_slices():
    of = {"files": 3, "fingerprint": "ab"}
    want = {"slice": "1/3", "slice_of": of}
    assert recorded_slice({"shard": "1/3", "shard_of": of}) == want
    assert recorded_slice({"slice": "1/3", "slice_of": of}) == want
    assert recorded_slice({"inputs": []}) is None


def test_assignment_is_deterministic_balanced_and_covers_everything_once():
    rng = random.Random(0)
    ids = [f"spk{rng.randrange(20)}/utt{i}" for i in range(500)]
    weights = [rng.randrange(1, 20_000_000) for _ in ids]
    slots = assign(ids, weights, 16)
    assert len(slots) == len(ids) and set(slots) == set(range(16))
    # the same corpus listed in another order gets the same slices
    order = list(range(len(ids)))
    rng.shuffle(order)
    again = assign([ids[j] for j in order], [weights[j] for j in order], 16)
    assert {ids[j]: s for j, s in zip(order, again, strict=True)} == dict(
        zip(ids, slots, strict=True)
    )
    loads = [sum(w for w, s in zip(weights, slots, strict=True) if s == k) for k in range(16)]
    assert max(loads) - min(loads) <= max(weights)  # the greedy bound
    assert max(loads) / min(loads) < 1.05
    with pytest.raises(AudiotokError, match="unique"):
        assign(["a", "a"], [1, 2], 2)


def test_select_covers_the_corpus_exactly_once_problems_included(corpus):
    items, _ = scan_inputs(corpus)
    problems = [(AudioItem("!unreadable/folder", "/x/unreadable/folder", ""), "permission denied")]
    slices = [cut(items, problems, CorpusSlice(i, N), 16000, num_workers=0) for i in range(N)]
    ids = [i for s in slices for i in s.ids]
    assert sorted(ids) == sorted([it.id for it in items] + ["!unreadable/folder"])
    assert len({s.corpus_fingerprint for s in slices}) == 1
    secs = [s.seconds for s in slices]
    assert min(secs) > 0 and max(secs) - min(secs) <= 3.1  # the longest file: 3.1 s
    # worker processes probe the same headers
    par = cut(items, problems, CorpusSlice(1, N), 16000, num_workers=2)
    assert par.ids == slices[1].ids
    assert par.corpus_fingerprint == slices[1].corpus_fingerprint


def test_merged_slices_equal_the_unsharded_store(corpus, tmp_path, monkeypatch):
    assert cli("encode", *corpus, "-o", tmp_path / "whole", "--num-workers", "0", "-q") == 1
    parts = _slices(corpus, tmp_path, N, "--shard-size", "1")  # a shard per utterance
    ids = [set(token_content(p)["codes"]) | {e["id"] for e in record(p)["errors"]} for p in parts]
    assert all(ids) and sum(len(x) for x in ids) == len(set().union(*ids))  # disjoint, none empty
    recs = [record(p) for p in parts]
    assert [r["run"]["slice"] for r in recs] == [f"{i}/{N}" for i in range(N)]
    assert len({r["run"]["slice_of"]["fingerprint"] for r in recs}) == 1
    assert len({r["audio_root"] for r in recs}) == 1  # the whole corpus's root: hard links

    # in steps: the first slice alone, the missing ones named
    warned: list[str] = []
    s = merge_stores(parts[:1], tmp_path / "merged", warn=warned.append)
    assert s.missing_slices == ["1/3", "2/3"] and "1/3, 2/3" in warned[0]
    first = s.utterances

    # the rest, interrupted after two shards, then resumed
    calls = {"n": 0}
    orig = TokenWriter.adopt_shard

    def interrupted(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return orig(self, *a, **kw)

    monkeypatch.setattr(TokenWriter, "adopt_shard", interrupted)
    with pytest.raises(KeyboardInterrupt):
        merge_stores(parts, tmp_path / "merged")
    monkeypatch.setattr(TokenWriter, "adopt_shard", orig)
    assert record(tmp_path / "merged")["num_utterances"] == first + 2  # committed as it went
    assert cli("merge", *parts, "-o", tmp_path / "merged") == 0
    assert_same_store(tmp_path / "whole", tmp_path / "merged")
    assert {e["id"] for e in record(tmp_path / "merged")["errors"]} == BAD

    # once more: nothing to add, no shard rewritten
    before = shard_files(tmp_path / "merged")
    s = merge_stores(parts, tmp_path / "merged")
    assert sorted(s.skipped) == sorted(map(str, parts)) and not s.adopted
    assert shard_files(tmp_path / "merged") == before
    assert_same_store(tmp_path / "whole", tmp_path / "merged")

    # a slice's store resumes only as that slice
    for args in (["--slice", "1/3"], ["--slice", "0/2"], ["--shard", "1/3"], []):
        code = cli("encode", *corpus, "-o", parts[0], "--num-workers", "0", "-q", *args)
        assert code == 2, args
    before = shard_files(parts[0])
    for args in (["--slice", "0/3"], ["--shard", "0/3"]):  # --shard: the former spelling
        code = cli("encode", *corpus, "-o", parts[0], *args, "--num-workers", "0", "-q")
        assert code in (0, 1) and shard_files(parts[0]) == before, args
    assert cli("encode", *corpus, "-o", parts[0], "--slice", "0/3", "--shard", "0/3") == 2

    # refused: an overlap, another spec, slices of another listing, a folder that is no store
    with pytest.raises(AudiotokError, match="overlap"):
        merge_stores([tmp_path / "whole", parts[0]], tmp_path / "m1")
    other = TokenSpec("semantic", "x-km100", 16000, 100.0, 1, 100, layer=6)
    with TokenWriter(tmp_path / "other", other) as w:
        w.add("zz/other", "/nowhere/other.wav", 1.0, np.arange(10) % 100)
    with pytest.raises(SpecMismatchError):
        merge_stores([*parts, tmp_path / "other"], tmp_path / "m2")
    assert cli("merge", tmp_path / "other", *parts, "-o", tmp_path / "m3") == 2
    with pytest.raises(SpecMismatchError):
        merge_stores([tmp_path / "other"], tmp_path / "merged")  # the output's spec is set
    with pytest.raises(AudiotokError, match="not an audiotok store"):
        merge_stores([parts[0], corpus[0]], tmp_path / "m4")
    assert_same_store(tmp_path / "whole", tmp_path / "merged")  # nothing refused got in
    make_wav = _wav_writer(corpus[0])  # the corpus grows: a slice cut now is of another listing
    make_wav("c/late.wav", 2.0)
    assert cli("encode", *corpus, "-o", tmp_path / "late_1", "--slice", "1/3",
               "--num-workers", "0", "-q") in (0, 1)  # fmt: skip
    with pytest.raises(AudiotokError, match="different listings"):
        merge_stores([parts[0], tmp_path / "late_1"], tmp_path / "m5")


def _wav_writer(root):
    import soundfile as sf

    from audio_fixtures import speechlike

    def write(rel, seconds):
        sf.write(root / rel, speechlike(seconds, 16000, 99), 16000)

    return write


def test_feature_slices_merge_into_the_unsharded_store(small_corpus, tmp_path):
    common = ["--model", "mfcc", "--num-workers", "0", "-q"]
    assert cli("extract", small_corpus, "-o", tmp_path / "whole", *common) == 0
    for i in range(2):
        assert cli("extract", small_corpus, "-o", tmp_path / f"f{i}", "--slice", f"{i}/2",
                   *common) == 0  # fmt: skip
    assert cli("merge", tmp_path / "f0", tmp_path / "f1", "-o", tmp_path / "merged") == 0
    a = dict(open_features(tmp_path / "whole"))
    b = dict(open_features(tmp_path / "merged"))
    assert sorted(a) == sorted(b) and len(a) == 6
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    ra, rb = record(tmp_path / "whole"), record(tmp_path / "merged")
    assert ra["header"] == rb["header"] and ra["recipe"] == rb["recipe"]
    # a token store and a feature store do not merge
    shutil.rmtree(tmp_path / "merged")
    assert cli("encode", small_corpus, "-o", tmp_path / "tok", "--num-workers", "0", "-q") == 0
    with pytest.raises(AudiotokError, match="one kind"):
        merge_stores([tmp_path / "f0", tmp_path / "tok"], tmp_path / "merged")


def test_ray_options_are_refused_with_the_local_engine(small_corpus, tmp_path):
    for args in (["--address", "auto"], ["--actors", "2"], ["--num-gpus", "1"],
                 ["--engine", "spark"], ["--engine", "ray", "--device", "cpu"],
                 ["--engine", "ray", "--dtype", "float16"]):  # fmt: skip
        assert cli("encode", small_corpus, "-o", tmp_path / "t", "-q", *args) == 2, args
    assert not (tmp_path / "t").exists()  # refused before any work


def test_merge_module_is_importable_without_torch():
    import subprocess
    import sys

    code = "import sys, audiotok.pipeline.merge, audiotok.pipeline.slices, " \
        "audiotok.engines.ray; " \
        "sys.exit('torch' in sys.modules or 'ray' in sys.modules)"  # fmt: skip
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    assert merge_mod.merge_stores is merge_stores
