"""Registry entries of the DAC codecs (no torch imported here).

Release URLs: ``__MODEL_URLS__`` in descript-audio-codec's ``dac/utils/__init__.py`` (the
``latest`` tags: 44khz 8kbps 0.0.1, 24khz 0.0.4, 16khz 0.0.5). Descript publishes no
checksums, so none is recorded; the sha256 of the file used goes into each token store.
Code and weights: MIT (the repository's LICENSE).
"""

from audiotok.registry import ModelEntry, WeightFile, register

DAC_URL = "https://github.com/descriptinc/descript-audio-codec/releases/download/"
LICENSE = "MIT (descriptinc/descript-audio-codec)"

# name, variant, release tag, upstream file, local file name, rate, hop, codebooks
_DAC = (
    ("dac-16khz", "16khz", "0.0.5", "weights_16khz.pth", "weights_16khz.pth", 16000, 320, 12),
    ("dac-24khz", "24khz", "0.0.4", "weights_24khz.pth", "weights_24khz.pth", 24000, 320, 32),
    # upstream calls it weights.pth; a distinct local name keeps `--model PATH` unambiguous
    ("dac-44khz", "44khz", "0.0.1", "weights.pth", "weights_44khz_8kbps.pth", 44100, 512, 9),
)

for name, variant, tag, upstream, local, sr, hop, k in _DAC:
    register(
        ModelEntry(
            name=name,
            kind="acoustic",
            builder="audiotok.codecs.dac:build",
            description=f"DAC {sr / 1000:g} kHz, non-causal, {sr / hop:g} Hz, up to {k} x 1024 "
            f"codebooks ({k * sr / hop * 10 / 1000:.2f} kbps with all)",
            source=f"{DAC_URL}{tag}/{upstream}",
            license=LICENSE,
            sample_rate=sr,
            frame_rate=sr / hop,
            files=(WeightFile(local, url=f"{DAC_URL}{tag}/{upstream}"),),
            options={"variant": variant},
        )
    )
