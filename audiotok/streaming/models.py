"""The streaming engines of the causal codecs: which stacks carry per-layer state, and
what runs between them.

- EnCodec 24 kHz (encodec's ``EncodecModel``, or any model with ``encoder`` / ``decoder``
  SEANet stacks and an RVQ ``quantizer``): the encoder stack, the frame-wise RVQ, the
  decoder stack. Its convolutions pad their start by reflection, so both directions warm up
  (the decoder's first conv reflects 6 frames: the first audio comes after 7 frames).
- Mimi (transformers' ``MimiModel``): SEANet encoder, an 8-layer causal transformer with a
  sliding window at 25 Hz, a stride-2 downsampling conv, the split RVQ; decoding mirrors it.
  The transformers carry transformers' own key/value cache (``DynamicCache``) with explicit
  positions; the convolutions pad with zeros (the downsampling by replication), so no
  reflection warm-up is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from audiotok.streaming.layers import StreamState


@dataclass
class _States:
    stacks: list[StreamState]
    caches: list[Any] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)

    def layer_states(self) -> list[StreamState]:
        return self.stacks


class EncodecEngine:
    def __init__(self, codec: Any):
        self.codec = codec
        self.model = codec.model
        self.hop = codec.hop_length
        self.sample_rate = codec.sample_rate
        self.num_codebooks = codec.n_q
        self.device = codec.device

    def encoder_state(self) -> _States:
        return _States([StreamState(self.model.encoder)])

    def encode_step(self, state: _States, wav: torch.Tensor, final: bool) -> torch.Tensor:
        with state.stacks[0].attached(final):
            emb = self.model.encoder(wav)
        if emb.shape[-1] == 0:
            return torch.zeros(wav.shape[0], self.num_codebooks, 0, dtype=torch.long)
        from audiotok.codecs.nearest import encodec_codes

        return encodec_codes(self.model.quantizer.vq, emb, self.num_codebooks)

    def encode_offline(self, wav: torch.Tensor) -> torch.Tensor:
        n = wav.shape[-1]
        codes, _ = self.codec.encode_batch(wav, torch.full((wav.shape[0],), n))
        return codes

    def decoder_state(self) -> _States:
        return _States([StreamState(self.model.decoder)])

    def decode_step(self, state: _States, codes: torch.Tensor, final: bool) -> torch.Tensor:
        if codes.shape[-1] == 0:
            emb = torch.zeros(codes.shape[0], self.model.quantizer.dimension, 0)
        else:
            emb = self.model.quantizer.decode(codes)  # [B, K, T'] -> [B, D, T']
        with state.stacks[0].attached(final):
            return self.model.decoder(emb.to(codes.device))

    def decode_offline(self, codes: torch.Tensor) -> torch.Tensor:
        wav, _ = self.codec.decode_batch(codes, torch.full((codes.shape[0],), codes.shape[-1]))
        return wav


class MimiEngine:
    def __init__(self, codec: Any):
        self.codec = codec
        self.model = codec.model
        self.hop = codec.hop_length
        self.sample_rate = codec.sample_rate
        self.num_codebooks = codec.n_q
        self.device = codec.device

    def _transformer(self, state: _States, i: int, tf: Any, h: torch.Tensor) -> torch.Tensor:
        """``h[B, C, n]`` through a cached transformer at positions continuing the stream."""
        n = h.shape[-1]
        if n == 0:
            return h
        pos = torch.arange(state.positions[i], state.positions[i] + n, device=h.device)
        out = tf(h.transpose(1, 2), cache=state.caches[i], use_cache=True, position_ids=pos[None])
        state.positions[i] += n
        return out.last_hidden_state.transpose(1, 2)

    def _state(self, *stacks: Any, transformer: Any) -> _States:
        from transformers import DynamicCache

        return _States(
            [StreamState(s) for s in stacks], [DynamicCache(config=transformer.config)], [0]
        )

    def encoder_state(self) -> _States:
        enc = self.model.encoder
        return self._state(enc.encoder_seanet, enc.downsample, transformer=enc.encoder_transformer)

    def encode_step(self, state: _States, wav: torch.Tensor, final: bool) -> torch.Tensor:
        enc = self.model.encoder
        with state.stacks[0].attached(final):
            h = enc.encoder_seanet(wav)
        h = self._transformer(state, 0, enc.encoder_transformer, h)
        with state.stacks[1].attached(final):
            latents = enc.downsample(h)
        if latents.shape[-1] == 0:
            return torch.zeros(wav.shape[0], self.num_codebooks, 0, dtype=torch.long)
        from audiotok.codecs.nearest import mimi_codes

        return mimi_codes(self.model.quantizer, latents, self.num_codebooks)

    def encode_offline(self, wav: torch.Tensor) -> torch.Tensor:
        return self.codec._codes(wav)

    def decoder_state(self) -> _States:
        dec = self.model.decoder
        return self._state(dec.upsample, dec.decoder_seanet, transformer=dec.decoder_transformer)

    def decode_step(self, state: _States, codes: torch.Tensor, final: bool) -> torch.Tensor:
        dec = self.model.decoder
        if codes.shape[-1] == 0:
            return torch.zeros(codes.shape[0], 1, 0, device=codes.device)
        latents = self.model.quantizer.decode(codes)
        with state.stacks[0].attached(final):
            h = dec.upsample(latents)
        h = self._transformer(state, 0, dec.decoder_transformer, h)
        with state.stacks[1].attached(final):
            return dec.decoder_seanet(h)

    def decode_offline(self, codes: torch.Tensor) -> torch.Tensor:
        return self.model.decode(codes, return_dict=True).audio_values
