"""Streaming tokenization for causal codecs (EnCodec 24 kHz, Mimi): codes as audio arrives,
audio as codes arrive, equal to the offline result (see :mod:`audiotok.streaming.stream`).

``enc = audiotok.load("mimi").streaming_encoder()``; ``enc.push(chunk)`` / ``enc.flush()``;
``dec = tok.streaming_decoder()``; ``dec.push(codes)`` / ``dec.flush()``. Models that are not
causal raise :class:`NotStreamableError` with one line saying why. Per-layer state lives in
:mod:`audiotok.streaming.layers`; the models' engines in :mod:`audiotok.streaming.models`;
chunked unit-vocoder decoding with a lookahead in :mod:`audiotok.streaming.vocoder`.
"""

from audiotok.errors import NotStreamableError

__all__ = ["NotStreamableError"]
