"""S3Tokenizer as an audiotok tokenizer: 16 kHz audio -> CosyVoice speech tokens (encode only).

Front end (facts from ``s3tokenizer`` 0.3.0 ``utils.log_mel_spectrogram``): Hann-windowed
400-point STFT, hop 160, centred with reflect padding, the last frame dropped; power spectrum
on 128 librosa-default mel filters (Slaney scale and area norm, 0-8 kHz); ``log10`` of
``max(., 1e-10)``, floored at the file's maximum minus 8, then ``(x + 4) / 4``. Each file is
computed alone (the floor is per file).

Files longer than 30 s (3000 mel frames) are cut as the package cuts them: 30 s windows every
26 s, each tokenised alone, joined by dropping 2 s of tokens on both sides of every overlap.

Weights: the released files are ONNX graphs (ModelScope ``iic/cosyvoice-300m``,
``iic/CosyVoice-300M-25Hz``, ``iic/CosyVoice2-0.5B``). audiotok loads their PyTorch form
under the package's parameter names (``s3tokenizer.onnx2torch(onnx, pt)`` writes it):
a ``.pt`` read with ``weights_only=True`` or a ``.safetensors``. It does not read ONNX.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import torch

from audiotok import __version__
from audiotok.errors import AudiotokError
from audiotok.extractors.s3tokenizer_model import S3Config, S3TokenizerModel
from audiotok.models_catalog import S3_NO_DECODER as NO_DECODER
from audiotok.spec import TokenSpec
from audiotok.tokenizer import Tokenizer

SAMPLE_RATE = 16000
HOP = 160
WINDOW_FRAMES = 3000  # 30 s of mel frames: the longest the encoder takes at once
STRIDE_FRAMES = 2600  # windows start every 26 s (4 s overlap)

# Released variants: conv1 stride, quantiser version, codebook size, tokens per second.
VARIANTS: dict[str, dict[str, Any]] = {
    "v1-50hz": {"version": 1, "stride": 1, "codebook_size": 4096},
    "v1-25hz": {"version": 1, "stride": 2, "codebook_size": 4096},
    "v2-25hz": {"version": 2, "stride": 2, "codebook_size": 3**8},
}


def log_mel(wav: torch.Tensor, n_mels: int = 128) -> torch.Tensor:
    """One file wav [T] (16 kHz) -> log-mel [n_mels, T // 160]."""
    from audiotok.spectral import mel_filterbank

    window = torch.hann_window(400, device=wav.device)
    spec = torch.stft(wav.float(), 400, HOP, window=window, return_complex=True)
    power = spec[..., :-1].abs() ** 2
    fb = mel_filterbank(201, 0.0, 8000.0, n_mels, SAMPLE_RATE, "slaney", "slaney")
    log = (fb.t().to(power) @ power).clamp_min(1e-10).log10()
    log = torch.maximum(log, log.max() - 8.0) if log.numel() else log
    return (log + 4.0) / 4.0


def _windows(n_mel: int) -> list[tuple[int, int]]:
    if n_mel <= WINDOW_FRAMES:
        return [(0, n_mel)]
    return [(s, min(s + WINDOW_FRAMES, n_mel)) for s in range(0, n_mel, STRIDE_FRAMES)]


class S3Tokenizer(Tokenizer):
    batch_exact = False  # padded rows change float sums in the attention: batch equal lengths
    long_window_seconds = WINDOW_FRAMES * HOP / SAMPLE_RATE
    max_windows = 8  # 30 s windows through the encoder at once (memory bound of long files)

    def __init__(self, model: S3TokenizerModel, name: str, weights_sha256: str):
        self.model = model.eval()
        cfg = model.cfg
        self.rate = SAMPLE_RATE / HOP / cfg.frames_per_token
        self.spec = TokenSpec(
            kind="semantic",
            name=name,
            sample_rate=SAMPLE_RATE,
            frame_rate=self.rate,
            num_codebooks=1,
            codebook_size=cfg.codebook_size,
            weights_sha256=weights_sha256,
            params={"model": f"s3tokenizer-v{cfg.version}", "stride": cfg.stride},
            version=__version__,
        )

    def to(self, device: str) -> S3Tokenizer:
        self.device = device
        self.model.to(device)
        return self

    def _tokens(self, n_mel: int) -> int:
        s = self.model.cfg.stride
        return (((n_mel - 1) // s + 1) - 1) // 2 + 1 if n_mel > 0 else 0

    def num_frames(self, num_samples: int) -> int:
        wins = _windows(num_samples // HOP)
        cut = 2 * round(self.rate)  # tokens of half the overlap
        total = 0
        for i, (a, b) in enumerate(wins):
            toks = range(self._tokens(b - a))
            total += len(toks[0 if i == 0 else cut : len(toks) if i == len(wins) - 1 else -cut])
        return total

    @torch.inference_mode()
    def encode_batch(self, wav: torch.Tensor, lengths: torch.Tensor):
        x = wav.reshape(wav.shape[0], -1)
        mels = [log_mel(x[b, : int(lengths[b])]) for b in range(x.shape[0])]
        segs = [(b, m[:, a:e]) for b, m in enumerate(mels) for a, e in _windows(m.shape[1])]
        per_file: list[list[torch.Tensor]] = [[] for _ in mels]
        for start in range(0, len(segs), self.max_windows):  # bounded memory for long files
            group = segs[start : start + self.max_windows]
            width = max(1, max(s.shape[1] for _, s in group))
            batch = torch.zeros(len(group), mels[0].shape[0], width, device=x.device)
            for i, (_, s) in enumerate(group):
                batch[i, :, : s.shape[1]] = s
            seg_len = torch.tensor([s.shape[1] for _, s in group], device=x.device)
            codes, code_len = self.model(batch, seg_len)
            for i, (b, _) in enumerate(group):
                per_file[b].append(codes[i, : int(code_len[i])])
        cut = 2 * round(self.rate)
        joined = []
        for parts in per_file:
            if len(parts) > 1:
                last = len(parts) - 1
                parts = [
                    p[0 if j == 0 else cut : None if j == last else -cut]
                    for j, p in enumerate(parts)
                ]
            joined.append(torch.cat(parts))
        n = torch.tensor([len(j) for j in joined])
        out = torch.zeros(len(joined), 1, max(1, int(n.max())), dtype=torch.long, device=x.device)
        for b, j in enumerate(joined):
            out[b, 0, : len(j)] = j
        return out, n

    def decode_batch(self, codes: torch.Tensor, code_lengths: torch.Tensor):
        raise AudiotokError(NO_DECODER)


def tiny_config(variant: str = "v1-50hz") -> dict[str, Any]:
    """A small configuration of the same architecture (tests): 2 layers, 2 heads of 64."""
    small = {"n_state": 128, "n_head": 2, "n_layer": 2}
    if VARIANTS[variant]["version"] == 1:
        small["codebook_size"] = 64
    return small


def build(
    entry: Any,
    *,
    variant: str,
    weights: str | None = None,
    pretrained: bool = True,
    seed: int = 0,
    device: str = "cpu",
    config: dict[str, Any] | None = None,
) -> S3Tokenizer:
    """The S3Tokenizer ``variant`` with the cached or given weights; ``pretrained=False``:
    random weights (seeded, the caller's RNG untouched). ``config`` overrides sizes of
    :class:`S3Config` (tests: a tiny model and the checkpoint they wrote)."""
    from dataclasses import fields

    from audiotok import rng
    from audiotok import weights as W

    if variant not in VARIANTS:
        raise AudiotokError(f"unknown S3Tokenizer variant {variant!r}: {', '.join(VARIANTS)}")
    unknown = sorted(set(config or {}) - {f.name for f in fields(S3Config)})
    if unknown:
        raise AudiotokError(f"unknown S3Tokenizer config field(s): {', '.join(unknown)}")
    cfg = S3Config(**{**VARIANTS[variant], **(config or {})})
    path = ""
    if pretrained:
        p, sha = _weights_file(entry, weights)  # a missing file fails before any work
        state = {
            k: v.float() if v.is_floating_point() else v for k, v in W.load_state_dict(p).items()
        }
        with torch.device("meta"):  # no initialisation: every tensor comes from the file
            model = S3TokenizerModel(cfg)
        try:
            model.load_state_dict(state, strict=True, assign=True)
        except RuntimeError as e:
            first = str(e).splitlines()[1].strip() if "\n" in str(e) else str(e)
            raise AudiotokError(
                f"{p} is not an S3Tokenizer {variant} checkpoint ({first[:200]})"
            ) from None
        path = str(Path(p).resolve())
    else:
        if weights is not None:
            raise AudiotokError("weights= and pretrained=False exclude each other")
        with rng.seeded(seed):
            model = S3TokenizerModel(cfg)
            # LayerNorms start at 1/0 and the codebook at 0: draw them too
            for key, param in model.named_parameters():
                if "_ln." in key:
                    mean = 1.0 if key.endswith("weight") else 0.0
                    torch.nn.init.normal_(param, mean=mean, std=0.1)
            if cfg.version == 1:
                # unit rows, as the inputs it is searched with
                embed = cast(torch.Tensor, model.quantizer._codebook.embed)
                embed.copy_(torch.nn.functional.normalize(torch.randn_like(embed), dim=-1))
        sha = W.state_dict_sha256(model.state_dict())
    tok = S3Tokenizer(model, entry.name, sha)
    tok.weights_path = path
    return tok.to(device)


def _weights_file(entry: Any, override: str | None) -> tuple[Path, str]:
    from audiotok import weights as W
    from audiotok.errors import MissingWeightsError

    onnx = entry.files[0]
    if override is None:
        folder = W.model_dir(entry)
        for suffix in (".safetensors", ".pt"):
            p = folder / (Path(onnx.filename).stem + suffix)
            if p.is_file():
                return p, W.sha256_file(p)
        override_path = W.expected_path(entry, onnx)
        if not override_path.is_file():
            raise MissingWeightsError(W.missing_message(entry, onnx) + _CONVERT)
        override = str(override_path)
    if str(override).endswith(".onnx"):
        raise AudiotokError(
            f"{override} is the ONNX release; audiotok reads its PyTorch form{_CONVERT}"
        )
    p = Path(override).expanduser()
    if not p.is_file():
        raise MissingWeightsError(f"weights file {p} does not exist")
    return p, W.sha256_file(p)


_CONVERT = (
    "; convert it once: python -c \"import s3tokenizer; s3tokenizer.onnx2torch('FILE.onnx', "
    "'FILE.pt')\" and put FILE.pt beside it (or pass --weights FILE.pt)"
)
