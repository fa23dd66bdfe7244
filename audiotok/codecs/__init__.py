"""RVQ codecs (EnCodec, DAC, ...) behind one contract: codes are [B, K, T']."""

from audiotok.codecs.base import Codec

__all__ = ["Codec"]
