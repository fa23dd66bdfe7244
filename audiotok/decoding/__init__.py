"""Tokens back to audio: one loop (:func:`decode_store`) over one :class:`Decoder` protocol.

    from audiotok.decoding import decode_store
    decode_store(audiotok.open_tokens("tokens/"), codec, "wavs/")          # a codec or Vocos
    decode_store(store, voc, "wavs/", speaker="p225")                      # a unit vocoder
    decode_unit_file("units.txt", voc, "wavs/")                            # units, no store

Codecs (EnCodec, DAC, Mimi, SpeechTokenizer and other hybrids), Vocos and unit vocoders are
adapted to the protocol (:func:`as_decoder`); :mod:`audiotok.decoding.loop` batches them by
length, writes each utterance through :mod:`audiotok.safe_paths`, and stops at the first
utterance that cannot be decoded or written, naming it. :mod:`audiotok.decoding.choose`
picks the decoder of a store (its own codec, ``--decoder vocos``). Imports no torch.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "Decoder": "audiotok.decoding.decoders",
    "CodecDecoder": "audiotok.decoding.decoders",
    "as_decoder": "audiotok.decoding.decoders",
    "VocoderDecoder": "audiotok.decoding.vocoder",
    "decode_items": "audiotok.decoding.loop",
    "decode_store": "audiotok.decoding.loop",
    "output_path": "audiotok.decoding.loop",
    "decode_units": "audiotok.decoding.units",
    "decode_unit_file": "audiotok.decoding.units",
    "codec_for_store": "audiotok.decoding.choose",
    "vocos_for_store": "audiotok.decoding.choose",
    "refuse_encode_only": "audiotok.decoding.choose",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'audiotok.decoding' has no attribute {name!r}")


__all__ = sorted(_LAZY)
