"""--engine ray on a local Ray this module starts (2 CPUs): the store equals the local
engine's, a rerun adds nothing, a failure of Ray itself is one clear error."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import assert_same_store, cli, record, requires_ray, shard_files

import audiotok
from audiotok.errors import AudiotokError
from audiotok.pipeline.api import encode_corpus, scan_inputs
from audiotok.pipeline.local import Events, RunOptions
from audiotok.pipeline.plan import probe_chunk

from audio_fixtures import BAD

pytestmark = requires_ray


@pytest.fixture(scope="module")
def ray_cluster():
    import ray

    ray.init(
        address="local",  # never a cluster this machine may be running
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        object_store_memory=256 << 20,
    )
    try:
        yield ray
    finally:
        ray.shutdown()


def local_encode(items, tok, out, **kw):
    return encode_corpus(items, tok, out, engine="local", **kw)


def _summary(s):
    """A run summary without what depends on the machine (time) or the store's path."""
    return {k: v for k, v in vars(s).items() if k not in ("wall_s", "out_dir", "seconds")}


@pytest.mark.slow
def test_ray_store_and_summary_equal_the_local_engines_and_a_rerun_adds_nothing(
    ray_cluster, small_corpus, bad_corpus, tmp_path
):
    from audiotok.engines.ray import RayEngine, RayOptions

    tok = audiotok.load("mfcc-km100")
    items, problems = scan_inputs([small_corpus, bad_corpus])
    opts = RunOptions(num_workers=0, batch_seconds=2.0)  # several batches, several blocks
    local_seen: dict[str, str] = {}
    on_error = Events(on_error=lambda it, r: local_seen.__setitem__(it.id, r))
    ls = local_encode(items, tok, tmp_path / "local", options=opts, events=on_error)

    seen: dict[str, str] = {}
    progress = []
    s = encode_corpus(
        items,
        tok,
        tmp_path / "ray",
        engine=RayEngine(RayOptions(actors=1)),
        options=RunOptions(num_workers=1, batch_seconds=2.0),  # a decode stage + one actor
        events=Events(
            on_error=lambda it, r: seen.__setitem__(it.id, r),
            on_progress=lambda sec, n: progress.append((sec, n)),
        ),
    )
    assert seen == local_seen and set(seen) == BAD  # the local engine's reasons, by file
    assert s.encoded == len(items) - len(BAD) and s.failed == len(BAD)
    assert _summary(s) == _summary(ls)  # one summary, counted by the pipeline for both
    assert s.seconds == pytest.approx(ls.seconds)  # summed in another order
    unplanned = sum(isinstance(p, str) for p in probe_chunk(items, tok.sample_rate, None))
    assert 0 < unplanned < len(BAD)  # some fail at the probe, the others in the stages
    assert sum(n for _, n in progress) == len(items) - unplanned
    assert sum(sec for sec, _ in progress) == pytest.approx(s.seconds)
    assert_same_store(tmp_path / "local", tmp_path / "ray")
    assert ray_cluster.is_initialized()  # a Ray it did not start is left running
    run = record(tmp_path / "ray")["run"]
    assert run["engine"] == "ray" and run["ray"]["actors"] == 1

    # a rerun through the CLI, actors decoding their own batches: only the failed files are
    # tried again, they fail again, and no shard is written
    before = shard_files(tmp_path / "ray")
    code = cli("encode", small_corpus, bad_corpus, "-o", tmp_path / "ray", "--engine", "ray",
               "--actors", "2", "--num-workers", "0", "--batch-seconds", "2", "-q")  # fmt: skip
    assert code == 1  # the store lists failed inputs
    assert shard_files(tmp_path / "ray") == before
    assert_same_store(tmp_path / "local", tmp_path / "ray")


@pytest.mark.slow
def test_a_failure_of_ray_itself_is_one_error_and_the_store_resumes(
    ray_cluster, small_corpus, tmp_path
):
    """An actor that cannot build its model (a codebook missing on its node) ends the run with
    the cause in one line; what was written stays, and the next run completes it."""
    from audiotok.engines.ray import RayEngine, RayOptions
    from audiotok.recipe import TokenizerConfig

    tok = audiotok.load("mfcc-km100")
    items, _ = scan_inputs([small_corpus])
    opts = RunOptions(num_workers=0, batch_seconds=2.0)
    half = [items[0], items[-1]]  # a/ and b/: the store's audio root is the corpus's
    local_encode(half, tok, tmp_path / "ray", options=opts)  # a store begun
    good = tok.recipe
    tok.recipe = TokenizerConfig(good.name, {**good.options, "codebook": str(tmp_path / "gone")})
    with pytest.raises(AudiotokError, match="a Ray worker stopped: codebook .*gone"):
        encode_corpus(items, tok, tmp_path / "ray", options=opts,
                      engine=RayEngine(RayOptions(actors=1)))  # fmt: skip
    assert record(tmp_path / "ray")["num_utterances"] == 2  # kept, and the lock released
    tok.recipe = good
    s = encode_corpus(items, tok, tmp_path / "ray", options=opts,
                      engine=RayEngine(RayOptions(actors=1)))  # fmt: skip
    assert (s.already_done, s.encoded) == (2, len(items) - 2)
    local_encode(items, tok, tmp_path / "local", options=opts)
    assert_same_store(tmp_path / "local", tmp_path / "ray")


@pytest.mark.slow
def test_extract_on_ray_equals_the_local_feature_store(
    ray_cluster, small_corpus, bad_corpus, tmp_path
):
    from audiotok.store import open_features

    common = [small_corpus, bad_corpus, "--model", "mfcc", "--batch-seconds", "2", "-q"]
    assert cli("extract", *common, "-o", tmp_path / "local", "--num-workers", "0") == 1
    assert cli("extract", *common, "-o", tmp_path / "ray", "--engine", "ray") == 1
    a, b = dict(open_features(tmp_path / "local")), dict(open_features(tmp_path / "ray"))
    assert sorted(a) == sorted(b) and len(a) == 6 + 12 - len(BAD)
    for k in a:
        assert b[k].dtype == np.float16
        np.testing.assert_array_equal(a[k], b[k])
    ra, rb = record(tmp_path / "local"), record(tmp_path / "ray")
    for key in ("header", "recipe", "errors", "audio_root", "num_utterances", "num_frames"):
        assert ra[key] == rb[key], key


@pytest.mark.slow
def test_a_slice_on_ray_equals_the_same_slice_on_the_local_engine(
    ray_cluster, small_corpus, bad_corpus, tmp_path
):
    """The slice is cut once (one probe) by the pipeline; its files reach the Ray engine
    probed already, and the store is the local engine's, slice record included."""
    from audiotok.engines.ray import RayEngine, RayOptions
    from audiotok.pipeline.slices import CorpusSlice

    tok = audiotok.load("mfcc-km100")
    items, problems = scan_inputs([small_corpus, bad_corpus])
    opts = RunOptions(num_workers=0, batch_seconds=2.0)
    sl = CorpusSlice(1, 2)
    a = local_encode(items, tok, tmp_path / "local", options=opts, slice=sl, problems=problems)
    b = encode_corpus(items, tok, tmp_path / "ray", options=opts, slice=sl, problems=problems,
                      engine=RayEngine(RayOptions(actors=1)))  # fmt: skip
    assert 0 < a.encoded < len(items) and _summary(a) == _summary(b)
    assert_same_store(tmp_path / "local", tmp_path / "ray")
    ra, rb = record(tmp_path / "local")["run"], record(tmp_path / "ray")["run"]
    assert ra["slice"] == rb["slice"] == "1/2" and ra["slice_of"] == rb["slice_of"]
