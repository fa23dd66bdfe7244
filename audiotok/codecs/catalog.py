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

# Vocos (charactr-platform/vocos, MIT; the Hugging Face cards state MIT). Files: config.yaml
# and pytorch_model.bin of each repo; no sha256 read here (left empty, as other HF entries).
_HF_VOCOS = "https://huggingface.co/charactr/"
for _name, _desc, _rate, _rev in (
    (
        "vocos-encodec-24khz",
        "Vocos decoder of EnCodec 24 kHz codes (2/4/8/16 codebooks = 1.5/3/6/12 kbps): "
        "`audiotok decode STORE --decoder vocos`",
        75.0,
        "main",  # no commit of this repo could be looked up where audiotok is built
    ),
    (
        "vocos-mel-24khz",
        "Vocos vocoder of 100-bin log-mel spectrograms (hop 256): "
        'audiotok.load_vocos("vocos-mel-24khz").decode_mel(mel)',
        93.75,
        "0feb3fdd929bcd6649e0e7c5a688cf7dd012ef21",
    ),
):
    register(
        ModelEntry(
            name=_name,
            kind="decoder",
            builder="audiotok.codecs.vocos:build",
            description=_desc,
            source=_HF_VOCOS + _name,
            license="MIT (charactr-platform/vocos, model card)",
            sample_rate=24000,
            frame_rate=_rate,
            files=(
                WeightFile("config.yaml", url=f"{_HF_VOCOS}{_name}/resolve/{_rev}/config.yaml"),
                WeightFile(
                    "pytorch_model.bin", url=f"{_HF_VOCOS}{_name}/resolve/{_rev}/pytorch_model.bin"
                ),
            ),
        )
    )
