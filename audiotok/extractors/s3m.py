"""Self-supervised speech model (S3M) features: HuBERT, WavLM, wav2vec 2.0 / XLS-R, data2vec,
mHuBERT, through one transformers-backed extractor.

``S3MExtractor(wav[B, T], lengths[B]) -> (feats[B, T', D], frame_lengths[B])`` with the layer
numbering of :mod:`audiotok.extractors.layers`. Guarantees:

- frames: ``num_frames(T)`` applies every conv of the feature encoder, ``floor((T - k) / s) + 1``
  (HuBERT/wav2vec2/WavLM/data2vec: ``floor((T - 400) / 320) + 1``, 50 Hz at 16 kHz);
- batching: valid frames never see padding (attention masks; the base models' group norm and
  the large models' waveform normalisation take statistics over valid samples only, see
  :mod:`audiotok.extractors.norms`), so a padded batch gives each file's features alone to float
  rounding, and ``batch_exact`` is True for every family;
- long files: any item longer than ``long_window_seconds`` is cut into overlapping windows
  (:mod:`audiotok.extractors.windows`), in a batch or alone, so a file's features never depend
  on how the work was cut;
- only layers up to the highest one asked for are computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import torch
from torch import nn

from audiotok.extractors.base import FeatureExtractor
from audiotok.extractors.layers import LayerCombiner, parse_layers
from audiotok.extractors.norms import MaskedGroupNorm, conv_out_length, normalize_waveform

DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


class S3MExtractor(FeatureExtractor):
    sample_rate = 16000

    def __init__(
        self,
        model: nn.Module,
        *,
        name: str,
        layers: str | int | Sequence[int] | None = None,
        combine: str = "mean",
        layer_weights: Sequence[float] | None = None,
        normalize_waveform: bool | None = None,
        final_layer_norm: bool = False,
        dtype: str = "float32",
        window_seconds: float = 40.0,
        context_seconds: float = 10.0,
        weights_sha256: str = "",
        weights_path: str = "",
    ):
        # a transformers wav2vec 2.0-family model: its submodules and config are reached by
        # attribute, which torch's Module does not declare
        cfg: Any = model.config
        self.model: Any = model.eval()
        self.name = name
        self.num_layers = int(cfg.num_hidden_layers)
        self.layers = parse_layers(layers, self.num_layers)
        self.layer = self.layers[0] if len(self.layers) == 1 else None
        self.dim = int(cfg.hidden_size)
        self.convs = [
            (int(k), int(s)) for k, s in zip(cfg.conv_kernel, cfg.conv_stride, strict=True)
        ]
        self.stride = 1
        for _, s in self.convs:
            self.stride *= s
        self.receptive_field = 1
        for k, s in reversed(self.convs):
            self.receptive_field = (self.receptive_field - 1) * s + k
        self.frame_rate = self.sample_rate / self.stride
        if normalize_waveform is None:
            normalize_waveform = getattr(cfg, "audiotok_normalize_waveform", None)
        if normalize_waveform is None:  # fairseq trained every layer-norm extractor on it
            normalize_waveform = getattr(cfg, "feat_extract_norm", "layer") == "layer"
        self.normalize = bool(normalize_waveform)
        self.pre_ln = bool(getattr(cfg, "do_stable_layer_norm", False))
        self.final_layer_norm = final_layer_norm
        self.dtype = DTYPES[dtype] if isinstance(dtype, str) else dtype
        self.window_seconds = float(window_seconds)
        self.context_seconds = float(context_seconds)
        self.long_window_seconds = self.window_seconds + 2 * self.context_seconds
        self.weights_sha256 = weights_sha256
        self.weights_path = weights_path
        self.batch_exact = True
        self.combiner = (
            LayerCombiner(len(self.layers), combine, layer_weights)
            if len(self.layers) > 1
            else None
        )
        self.masked_gn = self._patch_group_norm()
        self._install_hooks(max(1, max(self.layers)))
        self._cap: dict[int, torch.Tensor] | None = None
        self._frame_mask: torch.Tensor | None = None  # [B, T'] during a forward pass
        self._need: set[int] = set(self.layers)

    # --- model surgery ----------------------------------------------------------------------
    def _patch_group_norm(self) -> MaskedGroupNorm | None:
        first = self.model.feature_extractor.conv_layers[0]
        gn = getattr(first, "layer_norm", None)
        if isinstance(gn, nn.GroupNorm):
            first.layer_norm = MaskedGroupNorm(gn)
            return first.layer_norm
        return None

    def _install_hooks(self, keep: int) -> None:
        enc = self.model.encoder
        enc.layers = nn.ModuleList(list(enc.layers)[:keep])  # nothing above the highest layer
        enc.layers[0].register_forward_pre_hook(self._pre_first, with_kwargs=True)
        for i, layer in enumerate(enc.layers):
            layer.register_forward_hook(partial(self._post, i + 1))
        # data2vec stacks several position convs: a conv of zeros plus bias, layer-normed, is
        # not zero, so the next conv would read padding. Zero the padded frames between them,
        # as the zero padding of a file alone does.
        for conv_layer in getattr(enc.pos_conv_embed, "layers", ()):
            conv_layer.register_forward_hook(self._zero_padding)

    def _zero_padding(self, module, args, output):
        if self._frame_mask is not None:
            return output * self._frame_mask[:, None, : output.shape[-1]].to(output.dtype)
        return None

    def _pre_first(self, module, args, kwargs):
        if self._cap is not None and 0 in self._need:
            self._cap[0] = (args[0] if args else kwargs["hidden_states"]).clone()

    def _post(self, n: int, module, args, output):
        if self._cap is not None and n in self._need:
            self._cap[n] = output[0] if isinstance(output, tuple) else output

    # --- facts ------------------------------------------------------------------------------
    def num_frames(self, num_samples: int) -> int:
        n = int(num_samples)
        for k, s in self.convs:
            n = conv_out_length(n, k, s)
        return n

    def frame_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        n = lengths.to(torch.long).cpu()
        for k, s in self.convs:
            n = conv_out_length(n, k, s)
        return n

    def recipe_options(self) -> dict[str, Any]:
        """Every option that changes the features, with its effective value."""
        on_gpu = str(self.device).startswith("cuda")
        dtype = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}
        opts: dict[str, Any] = {
            "layers": list(self.layers),
            "normalize_waveform": self.normalize,
            "final_layer_norm": self.final_layer_norm,
            # autocast runs only on a GPU: on the CPU every dtype computes in float32
            "dtype": dtype[self.dtype] if on_gpu else "float32",
            "window_seconds": self.window_seconds,
            "context_seconds": self.context_seconds,
        }
        if self.combiner is not None:
            opts["combine"] = self.combiner.mode
            opts["layer_weights"] = self.combiner.values()
        if self.weights_path:
            opts["weights"] = self.weights_path
        return opts

    def describe_layers(self) -> str:
        if self.combiner is None:
            return str(self.layers[0])
        return f"{self.combiner.describe()}({','.join(map(str, self.layers))})"

    def to(self, device: str) -> S3MExtractor:
        self.device = str(device)
        self.model.to(device)
        if self.combiner is not None:
            self.combiner.to(device)
        return self

    # --- work -------------------------------------------------------------------------------
    def forward_layers(
        self,
        wav: torch.Tensor,
        lengths: torch.Tensor,
        wav_stats: tuple[torch.Tensor, torch.Tensor] | None = None,
        gn_stats: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
        """One forward pass, no windowing: {layer: feats[B, T', D] float32}, frame_lengths."""
        wav = wav.to(self.device, torch.float32)
        lengths = torch.as_tensor(lengths).to(torch.long).cpu()
        frame_lengths = self.frame_lengths(lengths)
        t_out = self.num_frames(wav.shape[1])
        if t_out <= 0:
            return {n: wav.new_zeros(wav.shape[0], 0, self.dim) for n in self.layers}, frame_lengths
        if self.normalize:
            wav = normalize_waveform(wav, lengths, wav_stats)
        mask = (torch.arange(wav.shape[1])[None, :] < lengths[:, None]).to(self.device, torch.long)
        if self.masked_gn is not None:
            k0, s0 = self.convs[0]
            self.masked_gn.lengths = conv_out_length(lengths, k0, s0)
            self.masked_gn.stats = gn_stats
        use_amp = self.device.startswith("cuda") and self.dtype != torch.float32
        valid = (torch.arange(t_out)[None, :] < frame_lengths[:, None]).to(self.device)
        self._frame_mask = valid
        self._cap = {}
        try:
            with torch.no_grad(), torch.autocast("cuda", dtype=self.dtype, enabled=use_amp):
                self.model(wav, attention_mask=mask)
                cap = self._cap
                if self.pre_ln and self.final_layer_norm and self.num_layers in cap:
                    cap[self.num_layers] = self.model.encoder.layer_norm(cap[self.num_layers])
        finally:
            self._cap = self._frame_mask = None
            if self.masked_gn is not None:
                self.masked_gn.lengths = self.masked_gn.stats = None
        out = {n: (cap[n].float() * valid[..., None]) for n in self.layers}
        return out, frame_lengths

    def extract_layers(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
        """Every selected layer separately: {layer: feats[B, T', D]}, frame_lengths[B].

        Items longer than ``long_window_seconds`` go through overlapping windows one by one;
        the others run as one padded batch.
        """
        from audiotok.extractors.windows import window_features

        if wav.dim() == 3:
            wav = wav[:, 0]
        lengths = torch.as_tensor(lengths).to(torch.long).cpu()
        limit = int(self.long_window_seconds * self.sample_rate)
        long_idx = [b for b in range(wav.shape[0]) if int(lengths[b]) > limit]
        if not long_idx:
            return self.forward_layers(wav, lengths)
        frame_lengths = self.frame_lengths(lengths)
        t_out = int(frame_lengths.max())
        out = {
            n: torch.zeros(wav.shape[0], t_out, self.dim, device=self.device) for n in self.layers
        }
        short = [b for b in range(wav.shape[0]) if b not in long_idx]
        if short:
            sub_len = lengths[short]
            feats, fl = self.forward_layers(wav[short, : int(sub_len.max())], sub_len)
            for n in self.layers:
                out[n][short, : feats[n].shape[1]] = feats[n]
        for b in long_idx:
            for start, feats in window_features(self, wav[b, : int(lengths[b])]):
                for n in self.layers:
                    out[n][b, start : start + feats[n].shape[0]] = feats[n]
        return out, frame_lengths

    def combine(self, feats: dict[int, torch.Tensor]) -> torch.Tensor:
        if self.combiner is None:
            return feats[self.layers[0]]
        return self.combiner([feats[n] for n in self.layers])

    def __call__(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        feats, frame_lengths = self.extract_layers(wav, lengths)
        return self.combine(feats), frame_lengths
