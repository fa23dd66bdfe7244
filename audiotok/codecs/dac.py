"""DAC, the Descript Audio Codec (descriptinc/descript-audio-codec), as an audiotok Codec.

Published models (conf/final/{16khz,24khz,44khz}.yml of the DAC repository; release URLs
from ``dac/utils/__init__.py``), all with 1024-entry codebooks of dimension 8:

| name      | rate     | encoder strides | hop | frame rate  | codebooks |
|-----------|----------|-----------------|-----|-------------|-----------|
| dac-16khz | 16000 Hz | 2, 4, 5, 8      | 320 | 50 Hz       | 12        |
| dac-24khz | 24000 Hz | 2, 4, 5, 8      | 320 | 75 Hz       | 32        |
| dac-44khz | 44100 Hz | 2, 4, 8, 8      | 512 | 86.1328 Hz  | 9         |

DAC is fully convolutional and non-causal (symmetric zero padding). Frame ``j`` covers
samples ``[hop j, hop (j + 1))``; the input is zero-padded on the right to a multiple of
the hop, as ``DAC.preprocess`` does, so a file gives ``ceil(T / hop)`` frames.

- Batches: :func:`audiotok.codecs.padding.as_if_alone` zeroes every convolution's input
  past each file's end, which is what the file alone sees: codes equal up to float
  rounding (see ``DacCodec.batch_exact``).
- Long files: windows with ``context`` samples on each side, at least half the encoder's
  receptive field (:func:`audiotok.codecs.windows.conv_span`): codes equal. Decoding is
  windowed the same way in frames.

The network is ours (:mod:`audiotok.codecs.dac_model`, the package's key names).
Weights (see :mod:`audiotok.codecs.dac_weights`): the released ``.pth`` holds
``{"state_dict", "metadata": {"kwargs": ...}}``; loaded with ``torch.load(weights_only=True)``,
or converted once to safetensors + JSON when it needs unpickling.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from audiotok import __version__
from audiotok.codecs.base import Codec, choose_n_codebooks
from audiotok.spec import TokenSpec

VARIANTS: dict[str, dict[str, Any]] = {
    "16khz": dict(
        sample_rate=16000, encoder_rates=[2, 4, 5, 8], decoder_rates=[8, 5, 4, 2], n_codebooks=12
    ),
    "24khz": dict(
        sample_rate=24000, encoder_rates=[2, 4, 5, 8], decoder_rates=[8, 5, 4, 2], n_codebooks=32
    ),
    "44khz": dict(
        sample_rate=44100, encoder_rates=[2, 4, 8, 8], decoder_rates=[8, 8, 4, 2], n_codebooks=9
    ),
}
COMMON = dict(encoder_dim=64, decoder_dim=1536, codebook_size=1024, codebook_dim=8)
BATCH_WINDOW_SECONDS = 2.0  # windows of the engine's batches (batch_windows)
WINDOW_SECONDS = 10.0


class DacCodec(Codec):
    def __init__(self, model: Any, name: str, n_codebooks: int, weights_sha256: str):
        from audiotok.codecs.windows import conv_span, round_up

        self.model = model
        self.hop_length = int(model.hop_length)
        self.n_q = n_codebooks
        sr = int(model.sample_rate)
        self.window = round_up(int(WINDOW_SECONDS * sr), self.hop_length)
        self.context = round_up(conv_span(model.encoder) // 2 + 1, self.hop_length)
        self.decode_window_frames = self.window // self.hop_length
        self.decode_context = conv_span(model.decoder) // 2 + 1
        self.long_window_seconds = 3 * WINDOW_SECONDS
        codebook_size = int(model.codebook_size)
        self.spec = TokenSpec(
            kind="acoustic",
            name=name,
            sample_rate=sr,
            frame_rate=sr / self.hop_length,
            num_codebooks=n_codebooks,
            codebook_size=codebook_size,
            weights_sha256=weights_sha256,
            params={"n_codebooks": n_codebooks},
            version=__version__,
        )

    # The padded path computes each item as if alone up to float rounding (~1e-7: kernels
    # chosen by shape), and with codebooks whose entries lie close a code flips at a near tie
    # (tests/codecs/test_batch_exact.py measures it): no device is listed, so the engine
    # batches equal lengths and ``encode_batch`` runs each length apart.
    padded_exact_on = ()

    def batch_windows(self) -> tuple[int, int]:
        """Windows of ``BATCH_WINDOW_SECONDS`` with the encoder's half receptive field on each
        side (the context of ``encode_long``); the file alone is zero-padded to whole frames
        (``DAC.preprocess``), as the engine pads it before cutting."""
        from audiotok.codecs.windows import round_up

        return round_up(int(BATCH_WINDOW_SECONDS * self.sample_rate), self.hop_length), self.context

    def to(self, device: str) -> DacCodec:
        self.device = device
        self.model.to(device)
        return self

    def _codes(self, wav):
        return self.model.quantizer.encode(self.model.encoder(wav), self.n_q).long()

    def _audio(self, codes):
        return self.model.decoder(self.model.quantizer.from_codes(codes))

    def _encode_padded(self, wav, lengths):
        import torch

        from audiotok.codecs.padding import as_if_alone, pad_to_multiple
        from audiotok.codecs.windows import round_up

        if wav.dim() == 2:
            wav = wav.unsqueeze(1)
        wav = pad_to_multiple(wav, self.hop_length)
        padded = [round_up(int(n), self.hop_length) for n in lengths]  # DAC.preprocess
        with torch.inference_mode(), as_if_alone(self.model.encoder, padded, wav.shape[-1]):
            codes = self._codes(wav)
        code_lengths = torch.tensor([self.num_frames(int(n)) for n in lengths])
        return codes, code_lengths

    def encode_long(self, wav):
        import torch

        from audiotok.codecs.padding import pad_to_multiple
        from audiotok.codecs.windows import run_windowed

        wav = pad_to_multiple(wav, self.hop_length)
        with torch.inference_mode():
            codes = run_windowed(
                self._codes, wav, self.window, self.context, Fraction(1, self.hop_length)
            )
        return codes, torch.tensor([codes.shape[-1]])

    def _decode_padded(self, codes, code_lengths):
        import torch

        from audiotok.codecs.padding import as_if_alone

        with (
            torch.inference_mode(),
            as_if_alone(self.model.decoder, code_lengths, codes.shape[-1]) as lengths,
        ):
            wav = self._audio(codes)
        # hop * T' samples, less 8 for the 16/24 kHz models (odd-stride transposed convs)
        return wav, torch.tensor(lengths.valid(wav.shape[-1]))

    def decode_long(self, codes):
        import torch

        from audiotok.codecs.windows import run_windowed

        with torch.inference_mode():
            return run_windowed(
                self._audio,
                codes,
                self.decode_window_frames,
                self.decode_context,
                Fraction(self.hop_length),
            )


def architecture(variant: str, config: dict[str, Any] | None = None, seed: int = 0) -> Any:
    """Our :class:`~audiotok.codecs.dac_model.DAC` with random weights from a local generator
    seeded ``seed``: the published configuration of ``variant``, with ``config`` overriding
    constructor arguments (tests use a small encoder/decoder). Building it leaves torch's
    global RNG as it was."""
    import torch

    from audiotok.codecs.dac_model import DAC
    from audiotok.codecs.random_init import random_init_

    if variant not in VARIANTS:
        raise ValueError(f"unknown DAC variant {variant!r}: {', '.join(VARIANTS)}")
    kwargs = {**COMMON, **VARIANTS[variant], **(config or {})}
    try:
        with torch.random.fork_rng(devices=[]):
            model = DAC(**kwargs)
    except TypeError as e:
        from audiotok.errors import AudiotokError

        raise AudiotokError(f"bad DAC configuration {config}: {e}") from e
    random_init_(model, torch.Generator().manual_seed(seed))
    with torch.no_grad():  # as DAC's init_weights: every Conv1d's bias starts at zero
        for m in model.modules():
            if isinstance(m, torch.nn.Conv1d) and m.bias is not None:
                m.bias.zero_()
    return model.eval()


def randomize_codebooks(model: Any, seed: int = 0) -> Any:
    """Fill a random-weight DAC's codebooks from its own projected latents of noise.

    With random convolutions the latents of different frames point in nearly one direction,
    so random (normal) codebooks give nearly one code. As a k-means initialisation would,
    each stage's entries here are sampled projected residual frames of 1 s of seeded noise
    plus a little noise, so random-weight models (tests, benchmarks) give varied codes.
    """
    import torch

    from audiotok.codecs.random_init import codebook_from_frames_

    g = torch.Generator().manual_seed(seed)
    x = 0.1 * torch.randn(1, 1, int(model.sample_rate), generator=g)
    with torch.no_grad():
        residual = model.encoder(x)
        for vq in model.quantizer.quantizers:
            frames = vq.in_proj(residual)[0].T  # [T', codebook_dim]
            codebook_from_frames_(vq.codebook.weight, frames, g)
            residual = residual - vq.encode(residual)[1]
    return model


def build(
    entry: Any,
    *,
    variant: str = "44khz",
    n_codebooks: int | None = None,
    bandwidth: float | None = None,
    weights: str | None = None,
    pretrained: bool = True,
    seed: int = 0,
    device: str = "cpu",
    config: dict[str, Any] | None = None,
) -> DacCodec:
    """Build the registry entry's DAC; ``pretrained=False``: random weights (``seed``)."""
    from audiotok import weights as W
    from audiotok.codecs import dac_weights

    path = ""
    if pretrained:
        state, kwargs, sha, path = dac_weights.load(entry, weights)
        config = {**(config or {}), **kwargs}
    model = architecture(variant, config, seed)
    if pretrained:
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            from audiotok.errors import AudiotokError

            lines = str(e).strip().splitlines()
            detail = (lines[1] if len(lines) > 1 else lines[0]).strip()[:200]
            raise AudiotokError(f"{path} does not fit this DAC ({detail})") from e
    else:
        randomize_codebooks(model, seed)
        sha = W.state_dict_sha256(model.state_dict())
    model.eval()
    fr = model.sample_rate / model.hop_length
    k = choose_n_codebooks(model.n_codebooks, fr, model.codebook_size, n_codebooks, bandwidth)
    codec = DacCodec(model, entry.name, k, sha)
    codec.weights_path = path
    return codec.to(device)
