"""Mimi (kyutai, the codec of Moshi: Défossez et al. 2024, arXiv:2410.00037) as an audiotok Codec.

Wraps transformers' ``MimiModel`` (the ``s3m`` extra): 24 kHz mono, causal SEANet + an 8-layer
causal transformer with a 250-step sliding window at 25 Hz, a stride-2 downsampling to
12.5 Hz (1920 samples per frame), and a split RVQ of 32 codebooks of 2048 entries whose
first codebook is the semantic quantiser distilled from WavLM (``semantic_codebooks=(0,)``).
``--n-codebooks K`` (1 to 32; Moshi uses 8) keeps the first K, a prefix of more. A file of T
samples gives ``ceil(T / 1920)`` frames (``MimiModel.get_encoded_length``), checked.

Cutting the work:

- Batches: everything is causal, so a zero-padded batch changes nothing before each file's
  end, except where the file alone pads its own end (every layer completes its last stride
  with zeros, the downsampling conv by replication): measured on tiny random models, the
  last frame of a file shorter than the batch differs. ``batch_exact`` is False: the engine
  batches equal lengths only, and ``encode_batch`` runs each length on its own (``Codec``), so
  it never returns codes a file would not get alone. Decoding a padded batch is exact (a
  causal decoder never reads past a file's last frame).
- Long files: windows with left context covering the receptive field (the convolutions, and
  ``layers x (window - 1)`` positions of the sliding-window transformer: 80 s for the
  released model), so each window's frames equal the whole file's up to float rounding
  (rotary positions start at 0 in each window; attention depends only on their differences).

``benchmarks/hybrid_bounds.py --mimi`` measures both (random weights of kyutai/mimi's size):
the codes of a naive padded batch and of 20 s windows against each file alone, and where
the differences sit (figures in docs/performance.md).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from audiotok import __version__
from audiotok.codecs.base import Codec, choose_n_codebooks
from audiotok.errors import AudiotokError
from audiotok.spec import TokenSpec

WINDOW_SECONDS = 120.0


def _seanet(half: Any, name: str) -> Any:
    """The SEANet stack of an encoder/decoder half (``MimiModel.encoder.encoder_seanet`` in
    transformers 5; the half itself in 4.x)."""
    return getattr(half, name, half)


class MimiCodec(Codec):
    def __init__(self, model: Any, name: str, n_codebooks: int, weights_sha256: str):
        from audiotok.codecs.windows import conv_span, round_up

        cfg = model.config
        self.model = model
        sr = int(cfg.sampling_rate)
        self.hop_length = int(round(sr / cfg.frame_rate))
        self.n_q = n_codebooks
        self.semantic_codebooks = tuple(range(int(cfg.num_semantic_quantizers)))
        stride = int(cfg.encodec_frame_rate / cfg.frame_rate)  # 25 Hz steps per frame
        step = self.hop_length // stride  # samples per 25 Hz step
        attention = int(cfg.num_hidden_layers) * (int(cfg.sliding_window) - 1)
        enc = conv_span(_seanet(model.encoder, "encoder_seanet"))
        self.window = round_up(int(WINDOW_SECONDS * sr), self.hop_length)
        self.context = round_up(enc + (attention + 2 * stride + 2) * step, self.hop_length)
        dec = conv_span(_seanet(model.decoder, "decoder_seanet"))
        self.decode_window_frames = self.window // self.hop_length
        self.decode_context = math.ceil((attention + 2 * stride + 2) / stride) + math.ceil(
            dec / self.hop_length
        )
        self.long_window_seconds = WINDOW_SECONDS
        self.spec = TokenSpec(
            kind="hybrid",
            name=name,
            sample_rate=sr,
            frame_rate=float(cfg.frame_rate),
            num_codebooks=n_codebooks,
            codebook_size=int(cfg.codebook_size),
            weights_sha256=weights_sha256,
            params={"n_codebooks": n_codebooks},
            version=__version__,
            semantic_codebooks=self.semantic_codebooks,
        )

    def recipe_options(self) -> dict[str, Any]:
        return {"n_codebooks": self.n_q}

    def to(self, device: str) -> MimiCodec:
        self.device = device
        self.model.to(device)
        return self

    def _codes(self, wav):
        """transformers' ``MimiModel.encode``, with nearest entries found in float64
        (:mod:`audiotok.codecs.nearest`: codes independent of the frames batched together)."""
        from audiotok.codecs.nearest import mimi_codes

        return mimi_codes(self.model.quantizer, self.model.encoder(wav).latents, self.n_q)

    def _encode_padded(self, wav, lengths):
        """One zero-padded batch (not exact for files shorter than the batch: see the module
        doc; ``Codec.encode_batch`` runs each length apart)."""
        import torch

        if wav.dim() == 2:
            wav = wav.unsqueeze(1)
        frames = [math.ceil(int(n) / self.hop_length) for n in lengths]
        with torch.inference_mode():
            codes = self._codes(wav[..., : max(int(n) for n in lengths)])
        if codes.shape[-1] != max(frames):  # never let padding guess a length
            raise AudiotokError(
                f"internal error: Mimi gave {codes.shape[-1]} frames for {max(lengths)} "
                f"samples, expected ceil(T / {self.hop_length}) = {max(frames)}"
            )
        return codes, torch.tensor(frames)

    def encode_long(self, wav):
        """wav[1, 1, T] in windows of ``window`` samples, each with ``context`` samples of
        left context whose frames are dropped."""
        import torch

        n = wav.shape[-1]
        pieces = []
        with torch.inference_mode():
            for s in range(0, n, self.window):
                a = max(0, s - self.context)
                codes = self._codes(wav[..., a : min(n, s + self.window)])
                pieces.append(codes[..., (s - a) // self.hop_length :])
        codes = torch.cat(pieces, dim=-1)
        if codes.shape[-1] != math.ceil(n / self.hop_length):
            raise AudiotokError(f"internal error: {codes.shape[-1]} frames for {n} samples")
        return codes, torch.tensor([codes.shape[-1]])

    def _decode_padded(self, codes, code_lengths):
        import torch

        with torch.inference_mode():
            wav = self.model.decode(codes, return_dict=True).audio_values
        lengths = [int(n) * self.hop_length for n in code_lengths]
        return wav[..., : max(lengths)], torch.tensor(lengths)

    def streaming_encoder(self) -> Any:
        """Codes as audio arrives, equal to ``encode`` (audiotok.streaming)."""
        from audiotok.streaming.models import MimiEngine
        from audiotok.streaming.stream import StreamingEncoder

        return StreamingEncoder(MimiEngine(self))

    def streaming_decoder(self) -> Any:
        """Audio as codes arrive, equal to ``decode`` to float rounding (audiotok.streaming)."""
        from audiotok.streaming.models import MimiEngine
        from audiotok.streaming.stream import StreamingDecoder

        return StreamingDecoder(MimiEngine(self))

    def decode_long(self, codes):
        import torch

        n = codes.shape[-1]
        w, ctx, hop = self.decode_window_frames or n, self.decode_context, self.hop_length
        pieces = []
        with torch.inference_mode():
            for s in range(0, n, w):
                a = max(0, s - ctx)
                wav = self.model.decode(codes[..., a : min(n, s + w)], return_dict=True)
                pieces.append(wav.audio_values[..., (s - a) * hop : (min(n, s + w) - a) * hop])
        return torch.cat(pieces, dim=-1)


def architecture(config: dict[str, Any] | None = None, seed: int = 0) -> Any:
    """A ``MimiModel`` with random weights (``MimiConfig`` defaults are kyutai/mimi's sizes;
    ``config`` overrides them) and codebooks filled from its own latents of noise."""
    import torch
    from transformers import MimiConfig, MimiModel

    from audiotok.rng import seeded

    with seeded(seed):
        model = MimiModel(MimiConfig(**(config or {}))).eval()
    g = torch.Generator().manual_seed(seed)
    x = 0.1 * torch.randn(1, 1, model.config.sampling_rate, generator=g)
    with torch.no_grad():
        latents = model.encoder(x).latents
        q = model.quantizer
        for rvq in (q.semantic_residual_vector_quantizer, q.acoustic_residual_vector_quantizer):
            z = rvq.input_proj(latents) if rvq.input_proj is not None else latents
            frames = z[0].T  # [T', D]
            spread = frames.std(0, keepdim=True) + 1e-6
            for layer in rvq.layers:
                cb = layer.codebook
                idx = torch.randint(0, len(frames), (cb.embed_sum.shape[0],), generator=g)
                noise = torch.randn(cb.embed_sum.shape, generator=g)
                cb.embed_sum.copy_(frames[idx] + 0.5 * spread * noise)
                cb.cluster_usage.fill_(1.0)
                cb._embed = None  # transformers caches embed_sum / cluster_usage
                frames = frames - cb.decode(cb.encode(frames))
    return model


def load_weights(entry: Any, override: str | None) -> tuple[Path, str]:
    """(folder holding ``config.json`` + ``model.safetensors``, sha256 of the weights)."""
    from audiotok import weights as W

    st_wf, cfg_wf = entry.files
    if override is None:
        path, sha = W.resolve(entry, st_wf)
        W.resolve(entry, cfg_wf)
        return path.parent, sha
    p = Path(override).expanduser()
    folder = p if p.is_dir() else p.parent
    st, cfg = folder / st_wf.filename, folder / cfg_wf.filename
    if not (st.is_file() and cfg.is_file()) or (not p.is_dir() and p.name != st_wf.filename):
        raise AudiotokError(
            f"Mimi weights are a folder in the Hugging Face layout ({st_wf.filename} and "
            f"{cfg_wf.filename} of {entry.source}); {p} is not one"
        )
    _, sha = W.resolve(entry, st_wf, override=st)
    return folder, sha


def build(
    entry: Any,
    *,
    n_codebooks: int | None = None,
    weights: str | None = None,
    pretrained: bool = True,
    seed: int = 0,
    device: str = "cpu",
    config: dict[str, Any] | None = None,
) -> MimiCodec:
    """kyutai/mimi from the cache or ``weights`` (a folder, or its ``model.safetensors``);
    ``pretrained=False``: random weights, ``config`` overriding ``MimiConfig`` (tests)."""
    from audiotok import weights as W

    path = ""
    if pretrained:
        if config is not None:
            raise AudiotokError("config= only applies to pretrained=False (random weights)")
        folder, sha = load_weights(entry, weights)
        from transformers import MimiModel

        model = MimiModel.from_pretrained(str(folder), local_files_only=True).eval()
        path = str((folder / entry.files[0].filename).resolve())
    else:
        if weights is not None:
            raise AudiotokError("weights= and pretrained=False exclude each other")
        model = architecture(config, seed)
        sha = W.state_dict_sha256(model.state_dict())
    cfg = model.config
    k = choose_n_codebooks(
        int(cfg.num_quantizers), float(cfg.frame_rate), int(cfg.codebook_size), n_codebooks, None
    )
    codec = MimiCodec(model, entry.name, k, sha)
    codec.weights_path = path
    return codec.to(device)
