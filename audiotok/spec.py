"""TokenSpec: what a token stream is, travelling with the tokens (manifest.json, codebooks)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from audiotok.errors import SpecMismatchError

# Fields that must agree for two token streams to be the same vocabulary and timing.
IDENTITY_FIELDS = (
    "kind",
    "name",
    "sample_rate",
    "frame_rate",
    "num_codebooks",
    "codebook_size",
    "layer",
    "weights_sha256",
    "params",
    "semantic_codebooks",
)


@dataclass(frozen=True)
class TokenSpec:
    """Describes a tokenizer's output.

    kind: "semantic" | "acoustic" | "hybrid"; name: registry name or path stem;
    num_codebooks: K of codes[B, K, T']; codebook_size: vocabulary of each codebook;
    layer: S3M layer for semantic tokens (None otherwise); weights_sha256: sha256 of the
    weights (file, or the canonical state dict for weights built in memory);
    params: what else changes the tokens (bandwidth, codebook sha256, extractor name, ...);
    semantic_codebooks: which of the K codebooks carry semantic content (``(0,)`` for semantic
    units and for hybrid codecs whose first codebook is distilled; ``()`` for acoustic codecs).
    """

    kind: str
    name: str
    sample_rate: int
    frame_rate: float
    num_codebooks: int
    codebook_size: int
    layer: int | None = None
    weights_sha256: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    semantic_codebooks: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        cbs = tuple(int(c) for c in self.semantic_codebooks)
        if self.kind == "semantic" and not cbs:
            cbs = (0,)  # semantic units are one semantic codebook by definition
        object.__setattr__(self, "semantic_codebooks", cbs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TokenSpec:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)

    @property
    def bitrate(self) -> float:
        """Bits per second of audio, from K, codebook size and frame rate."""
        import math

        return self.frame_rate * self.num_codebooks * math.log2(self.codebook_size)

    def check_same(self, other: TokenSpec) -> None:
        diffs = [
            f"{f}: {getattr(self, f)!r} != {getattr(other, f)!r}"
            for f in IDENTITY_FIELDS
            if getattr(self, f) != getattr(other, f)
        ]
        if diffs:
            raise SpecMismatchError(
                f"tokens of '{other.name}' cannot be mixed with tokens of '{self.name}' "
                f"({'; '.join(diffs)}); write to a new directory or pass --overwrite"
            )
