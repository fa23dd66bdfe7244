"""Reconstruction metrics for codecs: reference vs decoded audio.

``mel_distance``, ``stft_distance``, ``si_sdr`` (:mod:`audiotok.metrics.signal`),
``pesq_wb`` and ``stoi`` (:mod:`audiotok.metrics.perceptual`), and the paired-directory
evaluation behind ``audiotok eval recon`` (:mod:`audiotok.metrics.recon`). A metric that
cannot be computed raises :class:`MetricError`; the evaluation records it as an error for
that file and leaves it out of the means, never substituting a score.
"""

from __future__ import annotations

from audiotok.errors import AudiotokError


class MetricError(AudiotokError):
    """A metric cannot be computed for this pair of signals (the message says why)."""


METRICS = ("mel_distance", "stft_distance", "si_sdr", "pesq_wb", "stoi")
# Direction of "better", for people reading tables.
HIGHER_IS_BETTER = {
    "mel_distance": False,
    "stft_distance": False,
    "si_sdr": True,
    "pesq_wb": True,
    "stoi": True,
}

__all__ = ["HIGHER_IS_BETTER", "METRICS", "MetricError"]
