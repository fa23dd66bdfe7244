"""EnCodec 24 kHz (facebookresearch/encodec) as an audiotok Codec.

The network is ours (:mod:`audiotok.codecs.encodec_model`: SEANet encoder/decoder, RVQ of
1024-entry codebooks, the ``encodec`` package's key names); the weights are loaded
from the published file with ``torch.load(weights_only=True)`` after its sha256 is checked
(the 8 hex digits in the file name are the digest's prefix, as torch.hub checks them).

24 kHz model: causal convolutions + a 2-layer LSTM, mono, hop 320 = 75 Hz, up to 32
codebooks; bandwidths 1.5/3/6/12/24 kbps select 2/4/8/16/32 codebooks (encodec/model.py
``encodec_model_24khz``). Frame ``j`` covers samples ``[320 j, 320 (j + 1))``.

- Batches: :func:`audiotok.codecs.padding.as_if_alone` makes a padded batch compute each
  file's reflection padding at every layer, so the codes equal each file alone.
- Long files: :func:`audiotok.codecs.windows.run_streaming` cuts windows whose convolutions
  get left context from the receptive field while the LSTM carries its state: the stitched
  codes equal the whole-file codes, and decoding is streamed the same way.

The 48 kHz model lives in :mod:`audiotok.codecs.encodec48`.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from audiotok import __version__
from audiotok.codecs.base import Codec, choose_n_codebooks
from audiotok.spec import TokenSpec

BANDWIDTHS = (1.5, 3.0, 6.0, 12.0, 24.0)
WINDOW_SECONDS = 10.0  # per window of encode_long / decode_long
QUANTIZE_CHUNK = 3000  # frames quantized at once (the distance matrix is chunk x 1024)


def architecture(variant: str, config: dict[str, Any] | None = None, seed: int = 0) -> Any:
    """Our :class:`~audiotok.codecs.encodec_model.EncodecModel` of ``variant`` with random
    weights drawn from a local generator seeded ``seed`` (codebooks still empty: see
    :func:`randomize_codebooks`); ``config`` overrides SEANet sizes (tests use
    ``{"n_filters": 4}``). Building it leaves torch's global RNG as it was."""
    import torch

    from audiotok.codecs.encodec_model import EncodecModel
    from audiotok.codecs.random_init import random_init_

    with torch.random.fork_rng(devices=[]):
        model = EncodecModel(variant, config)
    random_init_(model, torch.Generator().manual_seed(seed))
    return model.eval()


def randomize_codebooks(model: Any, seed: int = 0) -> Any:
    """Fill the RVQ codebooks of an untrained model from its own embeddings of noise.

    EnCodec's codebooks start at zeros and are filled by k-means on the first training
    batch, so an untrained model maps every frame to code 0. As k-means' init does, each
    stage's entries are sampled residual frames (here of 2 s of seeded noise) plus a little
    noise, so random-weight models (tests, benchmarks) give varied codes.
    """
    import torch

    g = torch.Generator().manual_seed(seed)
    x = 0.1 * torch.randn(1, model.channels, 2 * model.sample_rate, generator=g)
    with torch.no_grad():
        residual = model.encoder(x)[0].T  # [frames, D]
        for layer in model.quantizer.vq.layers:
            cb = layer._codebook
            idx = torch.randint(0, residual.shape[0], (cb.embed.shape[0],), generator=g)
            spread = residual.std(dim=0, keepdim=True) + 1e-6
            entries = residual[idx] + 0.5 * spread * torch.randn(cb.embed.shape, generator=g)
            cb.embed.copy_(entries)
            cb.embed_avg.copy_(entries)
            cb.inited.fill_(1)
            residual = residual - layer.decode(layer.encode(residual.T[None]))[0].T
    return model


class EncodecCodec(Codec):
    def __init__(self, model: Any, name: str, n_codebooks: int, weights_sha256: str):
        self.model = model
        self.hop_length = int(model.encoder.hop_length)
        self.n_q = n_codebooks
        self.long_window_seconds = 3 * WINDOW_SECONDS
        self.window = int(WINDOW_SECONDS * model.sample_rate) // self.hop_length * self.hop_length
        self.decode_window_frames = self.window // self.hop_length
        bandwidth = n_codebooks * model.frame_rate * 10 / 1000  # 10 bits per 1024-codebook
        self.spec = TokenSpec(
            kind="acoustic",
            name=name,
            sample_rate=int(model.sample_rate),
            frame_rate=float(model.frame_rate),
            num_codebooks=n_codebooks,
            codebook_size=int(model.quantizer.bins),
            weights_sha256=weights_sha256,
            params={"bandwidth_kbps": bandwidth},
            version=__version__,
        )

    # The padded path (hooks of codecs/padding.py) matched nearly all codes in tests and on a
    # GPU: kernels chosen by shape round ~1e-7 differently and an RVQ stage flips at near ties
    # (tests/codecs/test_batch_exact.py measures it): the engine batches equal lengths.
    padded_exact_on = ()

    def to(self, device: str) -> EncodecCodec:
        self.device = device
        self.model.to(device)
        return self

    def _encode_padded(self, wav, lengths):
        import torch

        from audiotok.codecs.nearest import encodec_quantize
        from audiotok.codecs.padding import as_if_alone, pad_to_multiple

        if wav.dim() == 2:
            wav = wav.unsqueeze(1)
        wav = pad_to_multiple(wav, self.hop_length).clone()  # the hooks write past each end
        with torch.inference_mode(), as_if_alone(self.model.encoder, lengths, wav.shape[-1]):
            emb = self.model.encoder(wav)
        codes = encodec_quantize(self.model, emb, self.n_q)
        code_lengths = torch.tensor([self.num_frames(int(n)) for n in lengths])
        return codes, code_lengths

    def encode_long(self, wav):
        import torch

        from audiotok.codecs.nearest import encodec_quantize
        from audiotok.codecs.windows import run_streaming

        with torch.inference_mode():
            emb = run_streaming(
                self.model.encoder.model, wav, self.window, Fraction(1, self.hop_length), 1
            )
        codes = encodec_quantize(self.model, emb, self.n_q)
        return codes, torch.tensor([codes.shape[-1]])

    def _decode_padded(self, codes, code_lengths):
        import torch

        from audiotok.codecs.padding import as_if_alone

        with (
            torch.inference_mode(),
            as_if_alone(self.model.decoder, code_lengths, codes.shape[-1]) as lengths,
        ):
            emb = self.model.quantizer.decode(codes)
            wav = self.model.decoder(emb)
        return wav, torch.tensor(lengths.valid(wav.shape[-1]))

    def streaming_encoder(self) -> Any:
        """Codes as audio arrives, equal to ``encode`` (audiotok.streaming)."""
        from audiotok.streaming.models import EncodecEngine
        from audiotok.streaming.stream import StreamingEncoder

        return StreamingEncoder(EncodecEngine(self))

    def streaming_decoder(self) -> Any:
        """Audio as codes arrive, equal to ``decode`` to float rounding (audiotok.streaming)."""
        from audiotok.streaming.models import EncodecEngine
        from audiotok.streaming.stream import StreamingDecoder

        return StreamingDecoder(EncodecEngine(self))

    def decode_long(self, codes):
        import torch

        from audiotok.codecs.windows import run_streaming

        with torch.inference_mode():
            emb = torch.cat(
                [
                    self.model.quantizer.decode(codes[..., i : i + QUANTIZE_CHUNK])
                    for i in range(0, codes.shape[-1], QUANTIZE_CHUNK)
                ],
                dim=-1,
            )
            return run_streaming(
                self.model.decoder.model,
                emb,
                self.decode_window_frames,
                Fraction(1),
                self.hop_length,
            )


def load_state(model: Any, state: dict, path: str) -> None:
    """Load a state dict with the package's key names; a mismatch is one clear line."""
    from audiotok.errors import AudiotokError

    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        raise AudiotokError(
            f"{path} does not fit this EnCodec ({detail[:200]}); is it the right variant?"
        ) from e


def load_weights(entry: Any, weights: str | None) -> tuple[dict, str, str]:
    """(state dict, sha256, resolved path) of the entry's published file or ``weights``."""
    from audiotok import weights as W

    path, sha = W.resolve(entry, entry.files[0], override=weights)
    return W.load_state_dict(path), sha, str(Path(path).resolve())


def build(
    entry: Any,
    *,
    variant: str = "24khz",
    bandwidth: float | None = None,
    n_codebooks: int | None = None,
    weights: str | None = None,
    pretrained: bool = True,
    seed: int = 0,
    device: str = "cpu",
    config: dict[str, Any] | None = None,
) -> Codec:
    """Build the registry entry's EnCodec; ``pretrained=False``: random weights (``seed``)."""
    from audiotok import weights as W

    if pretrained:  # find and check the file before building anything
        state, sha, path = load_weights(entry, weights)
    model = architecture(variant, config, seed)
    if pretrained:
        load_state(model, state, path)
    else:
        randomize_codebooks(model, seed)
        sha, path = W.state_dict_sha256(model.state_dict()), ""
    model.eval()
    if n_codebooks is None and bandwidth is None:
        bandwidth = 6.0
    k = choose_n_codebooks(
        model.quantizer.n_q,
        model.frame_rate,
        model.quantizer.bins,
        n_codebooks,
        bandwidth,
        tuple(model.target_bandwidths),
    )
    if variant == "48khz":
        from audiotok.codecs.encodec48 import Encodec48Codec

        codec: Codec = Encodec48Codec(model, entry.name, k, sha)
    else:
        codec = EncodecCodec(model, entry.name, k, sha)
    codec.weights_path = path
    return codec.to(device)
