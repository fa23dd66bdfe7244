"""Streaming encoders and decoders over a model-specific :class:`Engine`.

``enc.push(chunk)`` takes any number of samples and returns the codes of the frames completed
so far; ``enc.flush()`` ends the stream (the last, partial frame, as offline) and readies the
encoder for a new one. ``dec.push(codes)`` returns the audio those frames complete.

Shapes: a 1-D chunk ``[n]`` is one stream and gives codes ``[K, m]``; a 2-D chunk ``[B, n]``
is B independent streams run in one forward (each with its own state in the batch
dimension) and gives ``[B, K, m]``. The decoder mirrors it (``[K, n] -> [m]``,
``[B, K, n] -> [B, m]``). Streams of one batch advance together (equal chunk sizes).

Warm-up: a layer that pads its start by reflection (EnCodec's SEANet) needs its first few
positions before its first output, and a residual branch must see the same positions as its
shortcut. So a stream holds its start back until every layer can run
(:meth:`Engine.warmup`, found by probing the model once); a stream that ends earlier is
encoded offline at :meth:`flush`. Past the warm-up, nothing is held back but the incomplete
frame.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import torch

from audiotok.errors import AudiotokError
from audiotok.streaming.layers import TooShortError


class Engine(Protocol):
    """What a causal model supplies (see :mod:`audiotok.streaming.models`)."""

    hop: int  # samples per frame
    sample_rate: int
    num_codebooks: int
    device: Any

    def encoder_state(self) -> Any: ...
    def encode_step(self, state: Any, wav: torch.Tensor, final: bool) -> torch.Tensor: ...
    def encode_offline(self, wav: torch.Tensor) -> torch.Tensor: ...
    def decoder_state(self) -> Any: ...
    def decode_step(self, state: Any, codes: torch.Tensor, final: bool) -> torch.Tensor: ...
    def decode_offline(self, codes: torch.Tensor) -> torch.Tensor: ...


def _started(state: Any) -> bool:
    return all(s.started() for s in state.layer_states())


def _probe(make_state: Any, step: Any, unit: int, shape: tuple[int, ...], dtype: Any, device: Any):
    """Smallest multiple of ``unit`` positions whose first step starts every layer."""
    with torch.inference_mode():
        for m in range(1, 65):
            state = make_state()
            try:
                step(state, torch.zeros(*shape, m * unit, dtype=dtype, device=device), False)
            except TooShortError:
                continue
            if _started(state):
                return m * unit
    raise AudiotokError("internal error: no warm-up length starts every layer of this model")


class StreamingEncoder:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.hop = engine.hop
        self.warmup = _probe(
            engine.encoder_state, engine.encode_step, self.hop, (1, 1), torch.float32, engine.device
        )
        self._reset()

    def _reset(self) -> None:
        self.state = self.engine.encoder_state()
        self.pending: list[torch.Tensor] = []
        self.n_pending = 0
        self.received = 0
        self.frames = 0
        self.started = False
        self.batch: int | None = None
        self.one = False

    @property
    def latency_ms(self) -> float:
        """Algorithmic latency past the warm-up: one frame (the models are causal)."""
        return 1000.0 * self.hop / self.engine.sample_rate

    def _as_batch(self, chunk: Any) -> torch.Tensor:
        x = torch.as_tensor(chunk, dtype=torch.float32)
        if x.dim() not in (1, 2):
            raise AudiotokError(f"a chunk is [samples] or [streams, samples], got {tuple(x.shape)}")
        one = x.dim() == 1
        x = x.reshape(1, -1) if one else x
        if self.batch is None:
            self.batch, self.one = x.shape[0], one
        elif x.shape[0] != self.batch or one != self.one:
            raise AudiotokError(
                f"this stream set has {self.batch} stream(s); a chunk of shape "
                f"{tuple(torch.as_tensor(chunk).shape)} does not match (flush() starts anew)"
            )
        return x.unsqueeze(1).to(self.engine.device)

    def _out(self, codes: torch.Tensor) -> torch.Tensor:
        codes = codes.cpu()
        return codes[0] if self.one else codes

    def _take(self) -> torch.Tensor:
        x = torch.cat(self.pending, dim=-1)
        self.pending, self.n_pending = [], 0
        return x

    def push(self, chunk: Any) -> torch.Tensor:
        """Samples at the model's rate; returns the codes of the frames completed so far."""
        x = self._as_batch(chunk)
        self.pending.append(x)
        self.n_pending += x.shape[-1]
        self.received += x.shape[-1]
        k = self.engine.num_codebooks
        ready = (
            self.received >= (self.frames + 1) * self.hop
            if self.started
            else self.received >= self.warmup
        )
        if not ready:
            return self._out(torch.zeros(x.shape[0], k, 0, dtype=torch.long))
        with torch.inference_mode():
            codes = self.engine.encode_step(self.state, self._take(), False)
        self.started = True
        self.frames += codes.shape[-1]
        return self._out(codes)

    def flush(self) -> torch.Tensor:
        """The remaining frames (the last one completed as offline); then a new stream."""
        b = self.batch or 1
        k = self.engine.num_codebooks
        codes = torch.zeros(b, k, 0, dtype=torch.long)
        with torch.inference_mode():
            if self.n_pending and not self.started:
                codes = self.engine.encode_offline(self._take())
            elif self.started:
                x = self._take() if self.n_pending else torch.zeros(b, 1, 0)
                codes = self.engine.encode_step(self.state, x.to(self.engine.device), True)
        total = self.frames + codes.shape[-1]
        if total != math.ceil(self.received / self.hop):
            raise AudiotokError(
                f"internal error: {total} frames streamed for {self.received} samples"
            )
        out = self._out(codes) if self.batch is not None else codes[0]
        self._reset()
        return out


class StreamingDecoder:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.hop = engine.hop
        k = engine.num_codebooks
        self.warmup = _probe(
            engine.decoder_state, engine.decode_step, 1, (1, k), torch.long, engine.device
        )
        self._reset()

    def _reset(self) -> None:
        self.state = self.engine.decoder_state()
        self.pending: list[torch.Tensor] = []
        self.n_pending = 0
        self.started = False
        self.batch: int | None = None
        self.one = False

    def _as_batch(self, codes: Any) -> torch.Tensor:
        c = torch.as_tensor(codes, dtype=torch.long)
        k = self.engine.num_codebooks
        if c.dim() not in (2, 3) or c.shape[-2] != k:
            raise AudiotokError(
                f"codes are [{k}, frames] or [streams, {k}, frames], got {tuple(c.shape)}"
            )
        one = c.dim() == 2
        c = c.unsqueeze(0) if one else c
        if self.batch is None:
            self.batch, self.one = c.shape[0], one
        elif c.shape[0] != self.batch or one != self.one:
            raise AudiotokError(f"this stream set has {self.batch} stream(s); got {tuple(c.shape)}")
        return c.to(self.engine.device)

    def _out(self, wav: torch.Tensor) -> torch.Tensor:
        wav = wav[:, 0].cpu()
        return wav[0] if self.one else wav

    def push(self, codes: Any) -> torch.Tensor:
        """Frames of codes; returns the audio they complete (``hop`` samples per frame)."""
        c = self._as_batch(codes)
        self.pending.append(c)
        self.n_pending += c.shape[-1]
        if not self.started and self.n_pending < self.warmup:
            return self._out(torch.zeros(c.shape[0], 1, 0))
        x = torch.cat(self.pending, dim=-1)
        self.pending, self.n_pending = [], 0
        with torch.inference_mode():
            wav = self.engine.decode_step(self.state, x, False)
        self.started = True
        return self._out(wav)

    def flush(self) -> torch.Tensor:
        b = self.batch or 1
        wav = torch.zeros(b, 1, 0)
        with torch.inference_mode():
            if self.n_pending and not self.started:
                wav = self.engine.decode_offline(torch.cat(self.pending, dim=-1))
            elif self.started:
                k = self.engine.num_codebooks
                empty = torch.zeros(b, k, 0, dtype=torch.long, device=self.engine.device)
                wav = self.engine.decode_step(self.state, empty, True)
        out = self._out(wav) if self.batch is not None else wav[0, 0]
        self._reset()
        return out
