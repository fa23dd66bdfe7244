"""The engine's one failure policy and its batch function, on any sink."""

import numpy as np
import pytest
import soundfile as sf

import audiotok
from audiotok.corpus import scan
from audiotok.pipeline.batch import TokenBatchFn
from audiotok.pipeline.local import Events, RunOptions, StrictStop, run
from audiotok.pipeline.sinks import CallbackSink


class Flaky(TokenBatchFn):
    """The real tokenizer, but the model raises on any batch holding a 'poison' length."""

    def __init__(self, tok, poison_len):
        super().__init__(tok)
        self.poison = poison_len
        self.calls = []

    def __call__(self, waves):
        self.calls.append(len(waves))
        if any(len(w) == self.poison for w in waves):
            raise RuntimeError("CUDA out of memory (simulated)")
        return super().__call__(waves)


def test_batch_fn_is_pure_and_equals_encode_alone():
    tok = audiotok.load("mfcc-km100")
    rng = np.random.default_rng(0)
    waves = [rng.standard_normal(n).astype(np.float32) * 0.1 for n in (4000, 9000, 4000)]
    before = [w.copy() for w in waves]
    out = TokenBatchFn(tok)(waves)
    for w, b, c in zip(waves, before, out, strict=True):
        np.testing.assert_array_equal(w, b)  # inputs untouched
        assert c.shape == (1, tok.num_frames(len(w)))
        np.testing.assert_array_equal(c[0], tok.encode(w, 16000).numpy())


def test_a_model_failure_is_retried_alone_and_only_the_bad_file_fails(make_wav, tmp_path):
    # 1.1 s is within make_batches' 1.2 length ratio of 1.0 s: one batch holds all four
    for i, secs in enumerate([1.0, 1.0, 1.1, 1.0]):
        make_wav(f"c/u{i}.wav", secs, 16000, seed=i)
    items = scan([tmp_path / "c"])
    fn = Flaky(audiotok.load("mfcc-km100"), poison_len=17600)  # the 1.1 s file
    got = {}
    sink = CallbackSink(lambda item, n, codes: got.setdefault(item.id, codes))
    seen = []
    s = run(
        items,
        fn,
        sink,
        RunOptions(batch_seconds=100, num_workers=0),
        Events(on_error=lambda it, why: seen.append((it.id, why))),
    )
    assert fn.calls == [4, 1, 1, 1, 1]  # the batch, then each of its files alone
    assert sorted(got) == ["u0", "u1", "u3"] and s.encoded == 3 and s.failed == 1
    assert [item_id for item_id, _ in seen] == ["u2"]
    assert "CUDA out of memory (simulated)" in seen[0][1]
    assert sink.errors[0]["id"] == "u2"
    tok = audiotok.load("mfcc-km100")
    for uid in got:  # the retried files' codes are their codes alone
        data, sr = sf.read(tmp_path / "c" / f"{uid}.wav", dtype="float32")
        np.testing.assert_array_equal(got[uid][0], tok.encode(data, sr).numpy())


def test_strict_stops_at_the_first_failure_keeping_what_was_done(bad_corpus, tmp_path):
    from audiotok.pipeline.api import encode_corpus

    tok = audiotok.load("mfcc-km100")
    with pytest.raises(StrictStop, match="--strict"):
        encode_corpus(
            scan([bad_corpus]), tok, tmp_path / "t", options=RunOptions(num_workers=0, strict=True)
        )
    ts = audiotok.open_tokens(str(tmp_path / "t"))
    assert len(ts.errors) == 1  # recorded before stopping; the store is closed and resumable


def test_long_files_cross_from_workers_as_mapped_files(make_wav, tmp_path):
    """A file past spill_seconds is decoded by a worker into a scratch file and mapped,
    not pickled whole; its tokens equal the file's tokens alone."""
    make_wav("c/long.wav", 6.0, 22050, seed=3)
    make_wav("c/short.wav", 1.0, 16000, seed=4)
    tok = audiotok.load("mfcc-km100")
    got = {}
    sink = CallbackSink(lambda item, n, codes: got.setdefault(item.id, (n, codes)))
    opts = RunOptions(num_workers=1, spill_seconds=2.0)
    run(scan([tmp_path / "c"]), TokenBatchFn(tok), sink, opts)
    for uid in ("long", "short"):
        data, sr = sf.read(tmp_path / "c" / f"{uid}.wav", dtype="float32")
        np.testing.assert_array_equal(got[uid][1][0], tok.encode(data, sr).numpy())
    assert got["long"][0] == audiotok.audio.resampled_length(6 * 22050, 22050, 16000)


@pytest.mark.parametrize(
    "opts, message",
    [
        (dict(batch_seconds=0), "--batch-seconds must be > 0"),
        (dict(num_workers=-1), "--num-workers must be >= 0"),
        (dict(max_duration=0), "--max-duration must be > 0"),
    ],
)
def test_options_are_checked(opts, message):
    from audiotok.errors import AudiotokError

    with pytest.raises(AudiotokError, match=message):
        RunOptions(**opts).check()
