"""The distributed stages as plain functions (no Ray): same arrays and reasons as the local
engine, through the Arrow tables that travel between stages."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import audiotok
from audiotok.engines.ray_layout import Layout, RayOptions, layout_for
from audiotok.engines.stages import (
    ModelStage,
    decode_table,
    loaded_of,
    plan_table,
    planned_of,
    result_table,
    results_of,
)
from audiotok.errors import AudiotokError
from audiotok.extractors import extractor_for
from audiotok.pipeline.api import scan_inputs
from audiotok.pipeline.batch import FeatureBatchFn, TokenBatchFn
from audiotok.pipeline.local import RunOptions, stream
from audiotok.pipeline.plan import make_batches, probe_chunk

from audio_fixtures import BAD


def _local(items, fn):
    fails: dict[str, str] = {}
    opts = RunOptions(num_workers=0, batch_seconds=2)
    results = stream(items, fn, lambda it, r: fails.__setitem__(it.id, r), opts)
    out = {it.id: arr for it, _, arr in results}
    return out, fails


def _staged(items, fn, recipe, target, decode_in_actor):
    """plan -> (decode) -> model, table by table, as the Ray engine runs them."""
    sr = fn.sample_rate
    fails: dict[str, str] = {}
    planned = []
    for it, p in zip(items, probe_chunk(items, sr, None), strict=True):
        if isinstance(p, str):
            fails[it.id] = p
        else:
            planned.append(p)
    batches = make_batches(planned, 2 * sr, not fn.batch_exact, getattr(fn, "long_samples", None))
    stage = ModelStage(target, recipe.to_dict(), decode=decode_in_actor, sample_rate=sr)
    out = {}
    for i, b in enumerate(batches):
        t = plan_table(i, b)
        assert [[p.item for p in x] for _, x in planned_of(t)] == [[p.item for p in b]]
        if not decode_in_actor:
            t = decode_table(t, sr, None)
        for r in results_of(stage(t)):
            if r.array is None:
                fails[r.id] = r.reason
            else:
                out[r.id] = r.array
    return out, fails


def test_token_stages_equal_the_local_engine(small_corpus, bad_corpus):
    tok = audiotok.load("mfcc-km100")
    items, _ = scan_inputs([small_corpus, bad_corpus])
    fn = TokenBatchFn(tok)
    want, want_fail = _local(items, fn)
    assert set(want_fail) == BAD
    for decode_in_actor in (False, True):  # a decode stage, or actors that decode
        got, got_fail = _staged(items, fn, tok.recipe, "tokens", decode_in_actor)
        assert got_fail == want_fail
        assert sorted(got) == sorted(want) and len(got) == len(items) - len(BAD)
        for k in want:
            assert got[k].dtype == np.int64
            np.testing.assert_array_equal(got[k], want[k])


def test_feature_stages_equal_the_local_engine_in_float16(small_corpus, bad_corpus):
    ex, recipe = extractor_for("mfcc", device="cpu")
    items, _ = scan_inputs([small_corpus, bad_corpus])
    fn = FeatureBatchFn(ex)
    want, want_fail = _local(items, fn)
    got, got_fail = _staged(items, fn, recipe, "features", False)
    assert got_fail == want_fail and sorted(got) == sorted(want)
    for k in want:  # the store keeps float16: the stage sends what the store would keep
        assert got[k].dtype == np.float16 and got[k].shape == want[k].shape
        np.testing.assert_array_equal(got[k], want[k].astype(np.float16))


def test_tables_carry_failures_and_arrays_exactly():
    rows = result_table([])
    assert rows.num_rows == 0 and list(results_of(rows)) == []
    from audiotok.engines.stages import Result

    a = np.arange(12, dtype=np.int64).reshape(2, 6)
    t = result_table([Result("x", 5, array=a), Result("y", 7, reason="broken")])
    got = list(results_of(pa.concat_tables([t.slice(0, 1), t.slice(1, 1)])))
    assert got[0].id == "x" and got[0].array.flags.writeable
    np.testing.assert_array_equal(got[0].array, a)
    assert (got[1].id, got[1].num_samples, got[1].reason, got[1].array) == ("y", 7, "broken", None)


def test_a_decoded_file_that_fails_is_a_reason_not_a_failed_block(tmp_path, make_wav):
    from audiotok.corpus import AudioItem
    from audiotok.pipeline.plan import Planned

    ok = make_wav("ok.wav", 0.5)
    items = [AudioItem("ok", str(ok), "ok.wav"), AudioItem("gone", str(tmp_path / "gone.wav"), "")]
    t = decode_table(plan_table(0, [Planned(it, 8000) for it in items]), 16000, None)
    [batch] = loaded_of(t)
    assert batch[0].wave is not None and len(batch[0].wave) == 8000
    assert batch[1].wave is None and batch[1].reason


def test_layout():
    opts = RayOptions()
    lay, problem = layout_for(2, 0, opts, 1, fixed=True)  # this machine: 2 CPUs
    assert lay == Layout(1, 0.0, 1.0, 1, "cpu") and problem is None
    lay, _ = layout_for(64, 8, opts, 4, fixed=True)  # a GPU node: one actor per GPU
    assert (lay.actors, lay.num_gpus, lay.decode_tasks, lay.device) == (8, 1.0, 32, "cuda")
    lay, _ = layout_for(64, 8, RayOptions(num_gpus=0.5), 2, fixed=True)
    assert (lay.actors, lay.decode_tasks) == (16, 32)
    lay, _ = layout_for(16, 0, RayOptions(actors=2, actor_cpus=0.5), 0, fixed=True)
    assert (lay.decode_tasks, lay.threads) == (0, 1)
    with pytest.raises(AudiotokError, match="need 4 CPUs"):
        layout_for(2, 0, RayOptions(actors=3), 1, fixed=True)
    with pytest.raises(AudiotokError, match="GPUs"):
        layout_for(8, 0, RayOptions(num_gpus=1), 1, fixed=True)
    lay, problem = layout_for(8, 0, RayOptions(num_gpus=1, actors=2), 1, fixed=False)
    assert problem and "GPUs" in problem  # a cluster that can grow: a warning, not an error
    for bad in (RayOptions(actors=0), RayOptions(num_gpus=-1), RayOptions(actor_cpus=0)):
        with pytest.raises(AudiotokError):
            bad.check()
