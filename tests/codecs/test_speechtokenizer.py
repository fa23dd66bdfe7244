"""SpeechTokenizer: parity with the ``speechtokenizer`` package through its checkpoint layout,
the codec contract (shapes, rates, prefixes, semantic codebook), batches, long files, weights."""

from __future__ import annotations

import json
import math

import pytest
import torch

import audiotok
from audiotok.errors import AudiotokError, MissingWeightsError, UnsafeCheckpointError

from audio_fixtures import speechlike

# the released config.json's architecture keys, shrunk (the released model: 64 filters,
# dimension 1024, semantic_dimension 768, 1024 entries, 8 codebooks)
TINY = {
    "n_filters": 4,
    "strides": [8, 5, 4, 2],
    "dimension": 16,
    "semantic_dimension": 12,
    "bidirectional": True,
    "dilation_base": 2,
    "residual_kernel_size": 3,
    "n_residual_layers": 1,
    "lstm_layers": 2,
    "activation": "ELU",
    "codebook_size": 64,
    "n_q": 4,
    "sample_rate": 16000,
    # training keys of the released file, ignored by the loader
    "lambda_distill": 0.15,
    "segment_size": 48000,
}
SHRINK = {k: TINY[k] for k in ("n_filters", "dimension", "semantic_dimension", "codebook_size")}


def wav(seconds: float, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(speechlike(seconds, 16000, seed=seed))


def package_model(config: dict, seed: int = 0):
    """The speechtokenizer package's model with random weights and random codebooks."""
    from speechtokenizer import SpeechTokenizer

    torch.manual_seed(seed)
    model = SpeechTokenizer(config).eval()
    x = 0.1 * torch.randn(1, 1, 32000)
    with torch.no_grad():
        emb = model.encoder(x)[0].T
        for layer in model.quantizer.vq.layers:  # k-means init would fill them on training
            cb = layer._codebook
            cb.embed.copy_(emb[torch.randint(0, len(emb), (cb.embed.shape[0],))])
            cb.embed.add_(0.5 * emb.std(0) * torch.randn_like(cb.embed))
            cb.inited.fill_(1)
    return model


def write_release(folder, model, config: dict, ckpt: str = "SpeechTokenizer.pt"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    torch.save(model.state_dict(), folder / ckpt)
    return folder / ckpt


@pytest.fixture(scope="module")
def tiny():
    return audiotok.load("speechtokenizer-hubert-avg", pretrained=False, config=SHRINK)


@pytest.mark.parametrize(
    ("name", "activation", "ckpt"),
    [
        ("speechtokenizer-hubert-avg", "ELU", "SpeechTokenizer.pt"),
        ("speechtokenizer-snake", "Snake", "ckpt.dev"),
    ],
)
def test_codes_and_audio_equal_the_package(tmp_path, name, activation, ckpt):
    config = {**TINY, "activation": activation}
    ref = package_model(config)
    path = write_release(tmp_path / name, ref, config, ckpt)
    codec = audiotok.load(name, weights=str(path))
    x = wav(0.87, seed=1)
    with torch.no_grad():
        ref_codes = ref.encode(x.view(1, 1, -1))  # [K, B, T']
        ref_wav = ref.decode(ref_codes)
    codes = codec.encode(x, 16000)
    assert codes.shape == (4, math.ceil(len(x) / 320))
    assert torch.equal(codes, ref_codes[:, 0])
    torch.testing.assert_close(codec.decode(codes), ref_wav[0, 0], atol=1e-5, rtol=0)
    assert codec.spec.weights_sha256 and codec.weights_path == str(path.resolve())
    # a folder with config.json and the checkpoint loads too
    assert torch.equal(audiotok.load(name, weights=str(path.parent)).encode(x, 16000), codes)


def test_spec_shapes_frames_and_prefixes(tiny):
    c = tiny
    assert (c.sample_rate, c.hop_length, c.frame_rate) == (16000, 320, 50.0)
    assert (c.num_codebooks, c.codebook_size) == (8, 64)
    assert c.spec.kind == "hybrid" and c.spec.semantic_codebooks == (0,)
    assert c.semantic_codebooks == (0,)
    x = wav(0.731)
    codes, n = c.encode_batch(x.view(1, 1, -1), torch.tensor([len(x)]))
    assert codes.dtype == torch.long and codes.shape == (1, 8, math.ceil(len(x) / 320))
    assert int(n[0]) == c.num_frames(len(x)) == 37
    assert len(c.decode(codes[0])) == 37 * 320
    two = audiotok.load(
        "speechtokenizer-hubert-avg", pretrained=False, config=SHRINK, n_codebooks=2
    )
    assert two.num_codebooks == 2 and two.spec.bitrate == 2 * 50 * 6
    assert torch.equal(two.encode(x, 16000), c.encode(x, 16000)[:2])
    with pytest.raises(AudiotokError, match="n-codebooks"):
        audiotok.load("speechtokenizer-hubert-avg", pretrained=False, config=SHRINK, n_codebooks=9)


LENGTHS = (0.93, 0.57, 0.21)  # seconds, none a multiple of the hop


def _batch(xs):
    lengths = torch.tensor([len(x) for x in xs])
    batch = torch.zeros(len(xs), 1, int(lengths.max()))
    for b, x in enumerate(xs):
        batch[b, 0, : len(x)] = x
    return batch, lengths


def test_a_padded_batch_gives_each_file_its_codes_alone(tiny):
    xs = [wav(s, seed=i) for i, s in enumerate(LENGTHS)]
    batch, lengths = _batch(xs)
    codes, code_lengths = tiny.encode_batch(batch, lengths)  # CPU: item by item
    for b, x in enumerate(xs):
        alone, n = tiny.encode_batch(x.view(1, 1, -1), torch.tensor([len(x)]))
        assert int(code_lengths[b]) == int(n[0]) == math.ceil(len(x) / 320)
        assert torch.equal(codes[b, :, : int(n[0])], alone[0])


def test_the_padded_batch_path_is_as_if_alone_and_the_naive_one_is_not(tiny):
    """The GPU path: one padded batch through the padding hooks and a packed BiLSTM. The
    embeddings equal each file's alone to float rounding; the naive batch (the BiLSTM's
    backward pass starting in the padding) is off everywhere."""
    xs = [wav(s, seed=i) for i, s in enumerate(LENGTHS)]
    batch, lengths = _batch(xs)
    with torch.inference_mode():
        emb, frames = tiny.embed(batch, lengths)
        naive = tiny.model.encoder(batch)
        for b, x in enumerate(xs):
            alone, _ = tiny.embed(x.view(1, 1, -1), [len(x)])
            n = frames[b]
            assert n == alone.shape[-1]
            torch.testing.assert_close(emb[b, :, :n], alone[0], atol=2e-6, rtol=0)
            if b > 0:  # shorter than the batch
                assert (naive[b, :, :n] - alone[0]).abs().max() > 1e-3


def test_long_files_in_windows_equal_the_whole_file(tiny):
    c = tiny
    window, context = c.window, c.context
    c.window = 8000  # 0.5 s windows: 2.3 s cross four seams
    try:
        x = wav(2.3, seed=5).view(1, 1, -1)
        whole, n = c.encode_batch(x, torch.tensor([x.shape[-1]]))
        long, m = c.encode_long(x)
        with torch.inference_mode():
            emb_whole, _ = c.embed(x, [x.shape[-1]])
            emb_long = c.embed_long(x)
    finally:
        c.window, c.context = window, context
    torch.testing.assert_close(emb_long, emb_whole, atol=1e-6, rtol=0)
    assert int(n[0]) == int(m[0]) == long.shape[-1] == 115
    assert (long == whole).float().mean() >= 0.99  # a near tie may flip at float rounding


def test_decoding_in_windows_equals_whole_and_batches_equal_alone(tiny):
    c = tiny
    x = wav(1.2, seed=6).view(1, 1, -1)
    codes, n = c.encode_batch(x, torch.tensor([x.shape[-1]]))
    whole, wn = c.decode_batch(codes, n)
    frames = c.decode_window_frames
    c.decode_window_frames = 20
    try:
        long = c.decode_long(codes)
        routed = c.decode(codes[0])  # longer than the window: through decode_long
    finally:
        c.decode_window_frames = frames
    assert long.shape[-1] == int(wn[0]) == 60 * 320
    torch.testing.assert_close(long, whole, atol=1e-5, rtol=0)
    torch.testing.assert_close(routed, long[0, 0], atol=0, rtol=0)
    short = codes[:, :, :23]
    pair = torch.zeros(2, 8, 60, dtype=torch.long)
    pair[0], pair[1, :, :23] = codes[0], short[0]
    wav2, lengths = c._decode_padded(pair, torch.tensor([60, 23]))
    alone, _ = c.decode_batch(short, torch.tensor([23]))
    assert lengths.tolist() == [60 * 320, 23 * 320]
    torch.testing.assert_close(wav2[1, :, : 23 * 320], alone[0], atol=1e-5, rtol=0)


def test_missing_weights_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path / "home"))
    with pytest.raises(MissingWeightsError, match="speechtokenizer_hubert_avg/SpeechTokenizer.pt"):
        audiotok.load("speechtokenizer-hubert-avg")
    ckpt = write_release(tmp_path / "rel", package_model(TINY), TINY)
    (ckpt.parent / "config.json").unlink()
    with pytest.raises(AudiotokError, match="config.json next to it"):
        audiotok.load("speechtokenizer-hubert-avg", weights=str(ckpt))


class Opaque:  # a non-tensor object: weights_only loading refuses it
    pass


def test_pickled_objects_need_the_explicit_conversion(tmp_path):
    from audiotok.codecs.pickle_convert import convert

    ref = package_model(TINY, seed=2)
    ckpt = write_release(tmp_path, ref, TINY)
    state = dict(ref.state_dict())
    state["opaque"] = Opaque()  # type: ignore[assignment]
    torch.save(state, ckpt)
    with pytest.raises(UnsafeCheckpointError, match="pickle_convert speechtokenizer .* --allow"):
        audiotok.load("speechtokenizer-hubert-avg", weights=str(ckpt))
    with pytest.raises(UnsafeCheckpointError):
        convert(ckpt, "speechtokenizer")  # no opt-in
    st = convert(ckpt, "speechtokenizer", allow_pickle=True)
    assert st.suffix == ".safetensors" and json.loads(st.with_suffix(".json").read_text())
    codec = audiotok.load("speechtokenizer-hubert-avg", weights=str(st))
    x = wav(0.5, seed=3)
    with torch.no_grad():
        assert torch.equal(codec.encode(x, 16000), ref.encode(x.view(1, 1, -1))[:, 0])


def test_a_checkpoint_that_does_not_match_its_config_is_refused(tmp_path):
    ckpt = write_release(tmp_path, package_model(TINY), {**TINY, "n_filters": 8})
    with pytest.raises(AudiotokError, match="does not match its config.json"):
        audiotok.load("speechtokenizer-hubert-avg", weights=str(ckpt))
    with pytest.raises(AudiotokError, match="does not take the option"):
        audiotok.load("speechtokenizer-hubert-avg", pretrained=False, bandwidth=1.0)
