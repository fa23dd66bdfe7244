import numpy as np
import soundfile as sf
import torch

import audiotok
from audiotok import audio
from audiotok.corpus import scan
from audiotok.pipeline.api import encode_corpus as _encode
from audiotok.pipeline.local import Events, RunOptions
from audiotok.pipeline.plan import Planned, make_batches

from audio_fixtures import BAD, VALID


def _alone(tok, path):
    data, sr = sf.read(path, dtype="float32", always_2d=True)
    return tok.encode(data.T, sr).numpy()  # [channels, T]: downmix + resample in encode()


def encode_corpus(items, tok, out, *, batch_seconds=60.0, num_workers=0, on_error=None, **kw):
    opts = RunOptions(batch_seconds=batch_seconds, num_workers=num_workers, **kw)
    return _encode(items, tok, out, options=opts, events=Events(on_error=on_error))


def _units(store_dir):
    return {k: v[0] for k, v in audiotok.open_tokens(str(store_dir))}  # K = 1: [1, T'] -> [T']


def test_tokens_do_not_depend_on_batching(small_corpus, tmp_path):
    tok = audiotok.load("mfcc-km100")
    items = scan([small_corpus])
    big = encode_corpus(items, tok, tmp_path / "one_batch", batch_seconds=1000, num_workers=0)
    small = encode_corpus(items, tok, tmp_path / "tiny", batch_seconds=0.5, num_workers=2)
    assert big.encoded == small.encoded == 6
    a, b = _units(tmp_path / "one_batch"), _units(tmp_path / "tiny")
    for it in items:
        ref = _alone(tok, it.path)
        np.testing.assert_array_equal(a[it.id], ref)
        np.testing.assert_array_equal(b[it.id], ref)
        info = sf.info(it.path)
        n = audio.resampled_length(info.frames, info.samplerate, 16000)
        assert len(ref) == (n - 400) // 160 + 1  # the MFCC frame rule


def test_plan_batches_respects_the_budget_and_equal_lengths():
    from audiotok.corpus import AudioItem

    ps = [Planned(AudioItem(f"u{i}", "", ""), n) for i, n in enumerate([5, 9, 5, 3, 9, 9, 20])]
    batches = make_batches(ps, 20, equal_lengths_only=False)
    assert all(len(b) * max(p.num_samples for p in b) <= 20 or len(b) == 1 for b in batches)
    assert sorted(p.item.id for b in batches for p in b) == sorted(p.item.id for p in ps)
    eq = make_batches(ps, 100, equal_lengths_only=True)
    assert all(len({p.num_samples for p in b}) == 1 for b in eq)
    assert [len(b) for b in eq] == [1, 2, 3, 1]


def test_bad_inputs_are_reported_and_the_rest_encoded(bad_corpus, tmp_path):
    tok = audiotok.load("mfcc-km100")
    seen = []
    s = encode_corpus(
        scan([bad_corpus]),
        tok,
        tmp_path / "t",
        num_workers=0,
        on_error=lambda item, reason: seen.append(item.id),
    )
    assert s.encoded == len(VALID) and sorted(seen) == sorted(BAD)
    ts = audiotok.open_tokens(str(tmp_path / "t"))
    assert {e["id"] for e in ts.errors} == BAD
    assert all(e["path"].startswith(e["id"]) and e["reason"] for e in ts.errors)
    got = _units(tmp_path / "t")
    for name in VALID:
        path = next(bad_corpus.glob(f"{name}.*"))
        np.testing.assert_array_equal(got[name], _alone(tok, str(path)))


def test_long_files_go_through_encode_long(small_corpus, tmp_path):
    tok = audiotok.load("mfcc-km100")
    calls = []
    orig = tok.encode_long

    def spy(wav):
        calls.append(wav.shape[-1])
        return orig(wav)

    tok.encode_long = spy
    tok.long_window_seconds = 2.0
    encode_corpus(scan([small_corpus]), tok, tmp_path / "t", num_workers=0)
    assert len(calls) == 2 and all(n > 32000 for n in calls)  # the 2.3 s and 3.1 s files
    got = _units(tmp_path / "t")
    for it in scan([small_corpus]):
        np.testing.assert_array_equal(got[it.id], _alone(tok, it.path))


def test_library_encode_accepts_numpy_and_torch():
    tok = audiotok.load("mfcc-km100")
    x = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    a, b = tok.encode(x, 16000), tok.encode(torch.from_numpy(x), 16000)
    assert a.dtype == torch.long and a.shape == (48,) and torch.equal(a, b)
    assert int(a.max()) < 100
