"""The result of :func:`audiotok.eval.recon`, :func:`~audiotok.eval.roundtrip` and
:func:`~audiotok.eval.resynth`: per-file scores, means, and what could not be scored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from audiotok.metrics.recon import FileScore


@dataclass
class EvalResult:
    """``files``: one :class:`~audiotok.metrics.recon.FileScore` per scored pair (its
    ``errors`` name the metrics that failed for it); ``summary``: per metric the mean over
    the files where it succeeded and that count ``n``, plus ``files``,
    ``files_with_errors`` and ``bitrate_kbps`` when known; ``encode_errors``: the files the
    pipeline could not encode (``id``, ``path``, ``reason``), never scored; ``unpaired``:
    ids found on one side only (``recon``)."""

    title: str
    metrics: tuple[str, ...]
    files: list[FileScore]
    summary: dict[str, Any]
    bitrate_bps: float | None = None
    spec: dict[str, Any] | None = None
    recipe: dict[str, Any] | None = None
    encode_errors: list[dict[str, str]] = field(default_factory=list)
    unpaired: dict[str, list[str]] | None = None
    unit_usage: dict[str, list[int]] | None = None
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> list[FileScore]:
        """Files where some metric (or reading the audio) failed."""
        return [f for f in self.files if f.errors]

    @property
    def complete(self) -> bool:
        """Every file encoded and every metric scored."""
        return not self.failed and not self.encode_errors

    def mean(self, metric: str) -> float | None:
        return self.summary[metric]["mean"]

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "title": self.title,
            "summary": self.summary,
            "files": [f.to_dict() for f in self.files],
        }
        if self.unpaired is not None:
            doc["unpaired"] = self.unpaired
        if self.spec is not None:
            doc["spec"] = self.spec
            doc["encode_errors"] = self.encode_errors
        return doc
