"""One decode path (issue #20, point 3): a codec and a unit vocoder through the same
``audiotok.decoding.decode_store``, each file what its utterance gives decoded alone."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiotok import open_tokens
from audiotok.errors import AudiotokError

from audio_fixtures import speechlike

sys.path.insert(0, str(Path(__file__).parents[1] / "codecs"))
from codec_tiny import build  # noqa: E402

TINY_VOCODER = {
    "embedding_dim": 16,
    "upsample_initial_channel": 64,
    "resblock_kernel_sizes": (3, 5),
    "resblock_dilation_sizes": ((1, 3), (1, 3)),
}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("decode_corpus")
    for i, s in enumerate((0.5, 0.9, 0.7)):
        (root / "spk").mkdir(exist_ok=True)
        sf.write(root / "spk" / f"u{i}.wav", speechlike(s, 16000, seed=i), 16000)
    return root


def _encode(corpus: Path, tok, out: Path):
    from audiotok.pipeline import RunOptions, encode_corpus, scan_inputs

    items, _ = scan_inputs([corpus])
    encode_corpus(items, tok, out, options=RunOptions(num_workers=0), overwrite=True)
    return open_tokens(str(out))


def _wav(path: Path) -> tuple[np.ndarray, int]:
    data, sr = sf.read(path, dtype="float32")
    return data, sr


def test_codec_and_vocoder_through_the_same_function(corpus, tmp_path):
    import audiotok
    from audiotok.decoding import VocoderDecoder, decode_store
    from audiotok.vocoders.config import VocoderConfig, spec_identity
    from audiotok.vocoders.model import Vocoder

    # a codec (tiny random DAC 16 kHz): padded batches, cut to the source's duration
    codec = build("dac-16khz")
    store = _encode(corpus, codec, tmp_path / "codec_tokens")
    assert decode_store(store, codec, tmp_path / "codec", batch_frames=80) == 3
    for row in store.rows():
        data, sr = _wav(tmp_path / "codec" / f"{row['id']}.wav")
        alone = codec.decode(torch.from_numpy(np.asarray(row["codes"], dtype=np.int64)))
        n = min(round(row["duration_s"] * 16000), len(alone))  # cut to the source's length
        assert sr == 16000 and len(data) == n and len(alone) > 0.9 * n
        assert np.abs(data - alone[:n].numpy()).max() <= 1.5 / 32768 + 1e-5  # 16-bit files

    # a unit vocoder on the store of the default tokenizer (mfcc-km100, 100 Hz units)
    tok = audiotok.load("mfcc-km100")
    units = _encode(corpus, tok, tmp_path / "unit_tokens")
    torch.manual_seed(0)
    cfg = VocoderConfig(num_units=100, frame_rate=100, tokens=spec_identity(units.spec),
                        codebook_sha256=units.spec.params["codebook_sha256"],
                        **TINY_VOCODER)  # fmt: skip
    voc = Vocoder(cfg).eval()
    n_batched = decode_store(units, VocoderDecoder(voc, batched=True), tmp_path / "voc_b",
                             batch_frames=150)  # fmt: skip
    n_plain = decode_store(units, voc, tmp_path / "voc")  # wrapped by as_decoder
    assert n_batched == n_plain == 3
    for utt, codes in units:
        u = torch.from_numpy(np.asarray(codes, dtype=np.int64).reshape(-1))
        alone, _ = voc.decode(u)
        for folder in ("voc_b", "voc"):
            data, sr = _wav(tmp_path / folder / f"{utt}.wav")
            assert sr == 16000 and len(data) == len(u) * 160
            assert np.abs(data - alone[0].numpy()).max() <= 1.5 / 32768 + 1e-5

    # each refuses the other's tokens, before writing anything
    with pytest.raises(AudiotokError, match="not the tokens this vocoder was trained on"):
        decode_store(store, voc, tmp_path / "never")
    with pytest.raises(AudiotokError, match="holds 1 codebooks of mfcc-km100; the decoder"):
        decode_store(units, codec, tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_a_failing_utterance_is_named_and_ids_stay_inside(tmp_path):
    from audiotok.decoding import VocoderDecoder, decode_items
    from audiotok.vocoders.config import VocoderConfig
    from audiotok.vocoders.model import Vocoder

    torch.manual_seed(0)
    voc = Vocoder(VocoderConfig(num_units=10, frame_rate=100, **TINY_VOCODER)).eval()
    dec = VocoderDecoder(voc)
    from audiotok.decoding import output_path

    out = tmp_path / "out"
    items = [("ok", np.array([1, 2, 3]), None), ("bad", np.array([1, 12, 3]), None)]
    with pytest.raises(AudiotokError, match=r"^decoding bad: unit 12 is outside"):
        decode_items(items, dec, lambda u: output_path(out, u))
    assert (out / "ok.wav").is_file() and not (out / "bad.wav").exists()
    with pytest.raises(AudiotokError, match="'..'"):
        decode_items([("../x", np.array([1, 2]), None)], dec, lambda u: output_path(out, u))
    assert not (tmp_path / "x.wav").exists()


def test_a_model_failure_is_one_error_naming_the_utterances(tmp_path):
    from audiotok.decoding import decode_items

    class Failing:  # a Decoder whose model raises on any input
        sample_rate, window_frames, batched, trims_to_source = 16000, None, True, False

        def prepare(self, codes):
            return np.asarray(codes).reshape(1, -1)

        def check_tokens(self, spec, recipe):
            pass

        def decode_batch(self, codes):
            raise RuntimeError("boom")

    items = [("a", np.array([1, 2]), None), ("b", np.array([3]), None)]
    with pytest.raises(
        AudiotokError, match=r"decoding b, a: the model failed \(RuntimeError: boom"
    ):
        decode_items(items, Failing(), lambda u: tmp_path / f"{u}.wav")
