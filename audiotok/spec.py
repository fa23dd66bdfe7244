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
    "codebook_frame_rates",
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
    units and for hybrid codecs whose first codebook is distilled; ``()`` for acoustic codecs);
    codebook_frame_rates: each codebook's own rate in Hz where they differ (SNAC: 11.7, 23.4,
    46.9 Hz); ``()`` (the default, and what older stores read as) means every codebook runs at
    ``frame_rate``. For multi-rate tokens ``frame_rate`` is the finest rate, every rate divides
    it by an integer (:attr:`strides`), and arrays ``[K, T']`` hold codebook k's codes each
    repeated ``strides[k]`` times (``T'`` counts the finest frames); token stores keep each
    codebook at its own rate.
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
    codebook_frame_rates: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        cbs = tuple(int(c) for c in self.semantic_codebooks)
        if self.kind == "semantic" and not cbs:
            cbs = (0,)  # semantic units are one semantic codebook by definition
        object.__setattr__(self, "semantic_codebooks", cbs)
        rates = tuple(float(r) for r in self.codebook_frame_rates)
        if rates and all(abs(r - self.frame_rate) < 1e-9 for r in rates):
            rates = ()  # equal rates are the single-rate case: one representation for it
        object.__setattr__(self, "codebook_frame_rates", rates)
        if rates:
            self._check_rates(rates)

    def _check_rates(self, rates: tuple[float, ...]) -> None:
        if len(rates) != self.num_codebooks:
            raise SpecMismatchError(
                f"{self.name}: {len(rates)} codebook frame rates for {self.num_codebooks} codebooks"
            )
        for r in rates:
            s = self.frame_rate / r if r > 0 else 0.0
            if r <= 0 or s < 1 - 1e-9 or abs(s - round(s)) > 1e-6:
                raise SpecMismatchError(
                    f"{self.name}: codebook frame rate {r:g} Hz does not divide the frame rate "
                    f"{self.frame_rate:g} Hz by a whole number"
                )

    @property
    def multirate(self) -> bool:
        """Whether codebooks run at different frame rates."""
        return bool(self.codebook_frame_rates)

    @property
    def strides(self) -> tuple[int, ...]:
        """Finest frames per code of each codebook (all 1 for single-rate tokens)."""
        if not self.codebook_frame_rates:
            return (1,) * self.num_codebooks
        return tuple(int(round(self.frame_rate / r)) for r in self.codebook_frame_rates)

    @property
    def rates(self) -> tuple[float, ...]:
        """Each codebook's frame rate in Hz."""
        return self.codebook_frame_rates or (float(self.frame_rate),) * self.num_codebooks

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if not self.codebook_frame_rates:  # single-rate specs are written as before
            del d["codebook_frame_rates"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TokenSpec:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)

    @property
    def bitrate(self) -> float:
        """Bits per second of audio: the codebooks' frame rates summed, times log2(size)."""
        import math

        if self.multirate:
            return sum(self.codebook_frame_rates) * math.log2(self.codebook_size)
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
