"""SNAC (Siuzdak et al. 2024, arXiv:2410.14411; the codec of Orpheus TTS) as an audiotok Codec.

Released models (Hugging Face ``hubertsiuzdak/snac_{24,32,44}khz``: ``config.json`` +
``pytorch_model.bin``; MIT), all with codebooks of 4096 entries of dimension 8:

| name       | rate     | hop | VQ strides   | codebook rates (Hz)         | kbps |
|------------|----------|-----|--------------|-----------------------------|------|
| snac-24khz | 24000 Hz | 512 | 4, 2, 1      | 11.7, 23.4, 46.9            | 0.98 |
| snac-32khz | 32000 Hz | 384 | 8, 4, 2, 1   | 10.4, 20.8, 41.7, 83.3      | 1.9  |
| snac-44khz | 44100 Hz | 384 | 8, 4, 2, 1   | 14.4, 28.7, 57.4, 114.8     | 2.6  |

(24 kHz: its config.json as quoted by several public ports; 32/44 kHz: the hop the SNAC
README's bitrates imply. With these configurations our network has 19.8 M and 54.5 M
parameters, the counts of the SNAC README; the builder reads each release's own config.json
in any case.)

Multi-rate codes in the [B, K, T'] contract: ``T'`` counts frames of the finest codebook
(``frame_rate = sample_rate / hop``); codebook ``k`` runs ``vq_strides[k]`` times slower,
and in the codec's arrays each of its codes is repeated ``vq_strides[k]`` times, so that
``codes[:, k, j]`` is the code of codebook k covering frame j (SNAC's own upsampling in
``from_codes``). The spec's ``codebook_frame_rates`` records the rates; token stores keep
each codebook at its own rate (see :mod:`audiotok.store.tokens`).

Padding: as ``SNAC.preprocess``, the input is zero-padded on the right to a multiple of
``hop x lcm(coarsest VQ stride, attention window)`` samples (2048 samples at 24 kHz, 12288 at
32/44 kHz with their 32-frame attention windows), so a file of T samples gives
``ceil(T / m) * m / hop`` frames and decodes to that many ``x hop`` samples.

Cutting the work: ``encode_batch`` runs each distinct length on its own (its padded batch is
then the files' own padding: exact). Files longer than 3 x :data:`WINDOW_SECONDS` are encoded
in windows (``encode_long``) whose edges fall on multiples of the padding unit, so attention
windows and pooled groups line up with the whole file's, with context covering half the
encoder's convolutional receptive field plus one attention window on each side: codes equal
the whole file's (tested). ``decode_batch`` decodes item by item, each with the
decoder's noise blocks drawing from a generator seeded :data:`NOISE_SEED`, so decoding is
reproducible, independent of batching, and leaves torch's global RNG alone.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

from audiotok import __version__
from audiotok.codecs.base import Codec
from audiotok.errors import AudiotokError
from audiotok.spec import TokenSpec

VARIANTS: dict[str, dict[str, Any]] = {
    "24khz": dict(
        sampling_rate=24000,
        encoder_dim=48,
        encoder_rates=[2, 4, 8, 8],
        decoder_dim=1024,
        decoder_rates=[8, 8, 4, 2],
        attn_window_size=None,
        vq_strides=[4, 2, 1],
    ),
    "32khz": dict(
        sampling_rate=32000,
        encoder_dim=64,
        encoder_rates=[2, 3, 8, 8],
        decoder_dim=1536,
        decoder_rates=[8, 8, 3, 2],
        attn_window_size=32,
        vq_strides=[8, 4, 2, 1],
    ),
}
VARIANTS["44khz"] = {**VARIANTS["32khz"], "sampling_rate": 44100}
COMMON = dict(codebook_size=4096, codebook_dim=8, noise=True, depthwise=True)
# The fields of a release's config.json that audiotok reads (SNAC.__init__'s arguments).
CONFIG_KEYS = (
    "sampling_rate",
    "encoder_dim",
    "encoder_rates",
    "latent_dim",
    "decoder_dim",
    "decoder_rates",
    "attn_window_size",
    "codebook_size",
    "codebook_dim",
    "vq_strides",
    "noise",
    "depthwise",
)
NOISE_SEED = 0
WINDOW_SECONDS = 10.0
_PARAM_KEYS = {
    "parametrizations.weight.original0": "weight_g",
    "parametrizations.weight.original1": "weight_v",
}


class SnacCodec(Codec):
    # the padded hook encodes each length apart (SNAC pads by itself), so a padded batch gives
    # each file its codes alone
    padded_exact_on = ("cpu", "cuda")

    def __init__(self, model: Any, name: str, weights_sha256: str):
        from audiotok.codecs.windows import conv_span, round_up

        self.model = model
        self.hop_length = int(model.hop_length)
        self.strides = tuple(int(s) for s in model.vq_strides)
        self.pad_multiple = int(model.pad_multiple)
        sr = int(model.sample_rate)
        self.window = round_up(int(WINDOW_SECONDS * sr), self.pad_multiple)
        attn = (model.attn_window_size or 0) * self.hop_length
        self.context = round_up(conv_span(model.encoder) // 2 + 1 + attn, self.pad_multiple)
        self.long_window_seconds = 3 * WINDOW_SECONDS
        fr = sr / self.hop_length
        self.spec = TokenSpec(
            kind="acoustic",
            name=name,
            sample_rate=sr,
            frame_rate=fr,
            num_codebooks=len(self.strides),
            codebook_size=int(model.codebook_size),
            weights_sha256=weights_sha256,
            version=__version__,
            codebook_frame_rates=tuple(fr / s for s in self.strides),
        )

    def to(self, device: str) -> SnacCodec:
        self.device = device
        self.model.to(device)
        return self

    def num_frames(self, num_samples: int) -> int:
        m = self.pad_multiple
        return math.ceil(num_samples / m) * m // self.hop_length

    def _encode_same_length(self, wav: Any) -> Any:
        import torch

        from audiotok.codecs.padding import pad_to_multiple

        wav = pad_to_multiple(wav, self.pad_multiple)
        parts = self.model.quantizer.encode(self.model.encoder(wav))
        return torch.stack(
            [c.repeat_interleave(s, dim=-1) for c, s in zip(parts, self.strides, strict=True)], 1
        )

    def _encode_padded(self, wav, lengths):
        import torch
        import torch.nn.functional as F

        if wav.dim() == 2:
            wav = wav.unsqueeze(1)
        n = [int(x) for x in lengths]
        frames = [self.num_frames(x) for x in n]
        out = torch.zeros(wav.shape[0], len(self.strides), max(frames, default=0), dtype=torch.long)
        with torch.inference_mode():
            for length in sorted(set(n)):  # each length alone: its padding is SNAC's own
                idx = [i for i, x in enumerate(n) if x == length]
                codes = self._encode_same_length(wav[idx, :, :length])
                out[idx] = F.pad(codes, (0, out.shape[-1] - codes.shape[-1])).to(out.device)
        return out.to(wav.device), torch.tensor(frames)

    def encode_long(self, wav):
        import torch

        from audiotok.codecs.padding import pad_to_multiple
        from audiotok.codecs.windows import run_windowed

        wav = pad_to_multiple(wav, self.pad_multiple)
        ratio = Fraction(1, self.hop_length)
        with torch.inference_mode():
            codes = run_windowed(self._encode_same_length, wav, self.window, self.context, ratio)
        return codes, torch.tensor([codes.shape[-1]])

    def split_codes(self, codes: Any) -> list[Any]:
        """codes [B, K, T'] (repeated layout) -> one [B, T' / stride_k] tensor per codebook."""
        t = codes.shape[-1]
        if t % self.strides[0]:
            raise AudiotokError(
                f"{self.spec.name} decodes whole groups of {self.strides[0]} frames; got {t}"
            )
        return [codes[:, k, ::s] for k, s in enumerate(self.strides)]

    def _decode_padded(self, codes, code_lengths):
        import torch

        outs = []
        with torch.inference_mode():
            for b in range(codes.shape[0]):
                t = int(code_lengths[b])
                parts = self.split_codes(codes[b : b + 1, :, :t].long())
                self.model.set_noise(torch.Generator().manual_seed(NOISE_SEED))
                try:
                    z = self.model.quantizer.from_codes(parts)
                    outs.append(self.model.decoder(z))
                finally:
                    self.model.set_noise(None)
        size = max((o.shape[-1] for o in outs), default=0)
        wav = torch.zeros(codes.shape[0], 1, size, device=codes.device)
        for b, o in enumerate(outs):
            wav[b, :, : o.shape[-1]] = o[0]
        return wav, torch.tensor([o.shape[-1] for o in outs])


def architecture(variant: str, config: dict[str, Any] | None = None, seed: int = 0) -> Any:
    """Our :class:`~audiotok.codecs.snac_model.SNAC` with random weights from a local
    generator: the published configuration of ``variant``, ``config`` overriding fields."""
    import torch

    from audiotok import rng
    from audiotok.codecs.random_init import random_init_
    from audiotok.codecs.snac_model import SNAC

    if variant not in VARIANTS:
        raise AudiotokError(f"unknown SNAC variant {variant!r}: {', '.join(VARIANTS)}")
    kwargs = {**COMMON, **VARIANTS[variant], **(config or {})}
    try:
        with rng.seeded(seed):
            model = SNAC(**kwargs)
    except (TypeError, ValueError, RuntimeError) as e:
        raise AudiotokError(f"bad SNAC configuration {config}: {e}") from e
    random_init_(model, torch.Generator().manual_seed(seed))
    return model.eval()


def randomize_codebooks(model: Any, seed: int = 0) -> Any:
    """Codebook entries drawn from the model's own projected residuals of seeded noise (as a
    k-means initialisation would), so that random-weight models give varied codes."""
    import torch
    import torch.nn.functional as F

    from audiotok.codecs.random_init import codebook_from_frames_

    g = torch.Generator().manual_seed(seed)
    x = 0.1 * torch.randn(1, 1, 2 * model.pad_multiple, generator=g)
    with torch.no_grad():
        residual = model.encoder(x)
        for vq in model.quantizer.stages():
            pooled = F.avg_pool1d(residual, vq.stride, vq.stride) if vq.stride > 1 else residual
            frames = vq.in_proj(pooled)[0].T
            codebook_from_frames_(vq.codebook.weight, frames, g)
            residual = residual - vq.encode(residual)[1]
    return model


def read_config(path: Path) -> dict[str, Any]:
    """The known fields of a SNAC ``config.json`` (nothing in it names code)."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise AudiotokError(f"cannot read {path}: {str(e).splitlines()[0]}") from None
    if not isinstance(raw, dict) or "vq_strides" not in raw:
        raise AudiotokError(f"{path} is not a SNAC config.json (no vq_strides)")
    from audiotok.folder_formats import identify

    identify(path.parent, raw)  # every field of its JSON type, else one line naming it
    return {k: raw[k] for k in CONFIG_KEYS if k in raw}


def load_state(model: Any, state: dict[str, Any], where: str) -> None:
    """Load a SNAC state dict; torch's weight-norm parametrisation keys are renamed to
    ``weight_g`` / ``weight_v`` (releases may carry either naming)."""
    renamed = {}
    for key, value in state.items():
        for old, new in _PARAM_KEYS.items():
            if key.endswith(old):
                key = key[: -len(old)] + new
        renamed[key] = value
    try:
        model.load_state_dict(renamed)
    except RuntimeError as e:
        lines = str(e).strip().splitlines()
        detail = (lines[1] if len(lines) > 1 else lines[0]).strip()[:200]
        raise AudiotokError(f"{where} does not fit this SNAC ({detail})") from None


def load_folder(entry: Any, override: str | None) -> tuple[Path, Path, str]:
    """(config.json, pytorch_model.bin, sha256 of the weights) from the cache or a folder."""
    from audiotok import weights as W

    bin_wf, cfg_wf = entry.files
    if override is None:
        path, sha = W.resolve(entry, bin_wf)
        cfg, _ = W.resolve(entry, cfg_wf)
        return cfg, path, sha
    p = Path(override).expanduser()
    folder = p if p.is_dir() else p.parent
    bin_path, cfg = folder / bin_wf.filename, folder / cfg_wf.filename
    if not (bin_path.is_file() and cfg.is_file()):
        raise AudiotokError(
            f"SNAC weights are a folder with {bin_wf.filename} and {cfg_wf.filename} "
            f"(as {entry.source}); {p} is not one"
        )
    _, sha = W.resolve(entry, bin_wf, override=bin_path)
    return cfg, bin_path, sha


def build(
    entry: Any,
    *,
    variant: str = "24khz",
    weights: str | None = None,
    pretrained: bool = True,
    seed: int = 0,
    device: str = "cpu",
    config: dict[str, Any] | None = None,
) -> SnacCodec:
    """The registry entry's SNAC: the released folder (cache, or ``weights``: the folder or
    its ``pytorch_model.bin``); ``pretrained=False``: random weights (``seed``), ``config``
    overriding the variant's fields (tests use tiny models)."""
    from audiotok import weights as W

    path = ""
    if pretrained:
        if config is not None:
            raise AudiotokError("config= only applies to pretrained=False (random weights)")
        cfg_path, bin_path, sha = load_folder(entry, weights)
        fields = read_config(cfg_path)
        model = architecture(variant, fields, seed)
        load_state(model, W.load_state_dict(bin_path), str(bin_path))
        path = str(bin_path.resolve())
    else:
        if weights is not None:
            raise AudiotokError("weights= and pretrained=False exclude each other")
        model = randomize_codebooks(architecture(variant, config, seed), seed)
        sha = W.state_dict_sha256(model.state_dict())
    codec = SnacCodec(model.eval(), entry.name, sha)
    codec.weights_path = path
    return codec.to(device)
