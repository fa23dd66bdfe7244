"""Registry entries of the SNAC codecs (no torch imported here).

hubertsiuzdak/snac_{24,32,44}khz on Hugging Face (MIT, the repositories' model cards and the
``snac`` package's LICENSE): ``pytorch_model.bin`` + ``config.json`` each. No commit of those
repositories could be read here, so the URLs stay on ``main`` (``audiotok models list`` says
"unpinned") and the files are checked against the sha256 recorded at their first use.
"""

from audiotok.registry import ModelEntry, WeightFile, register

HF = "https://huggingface.co/hubertsiuzdak/"
LICENSE = "MIT (hubertsiuzdak/snac)"

# name, variant, rate, hop, VQ strides, use
_SNAC = (
    ("snac-24khz", "24khz", 24000, 512, (4, 2, 1), "speech; the codec of Orpheus TTS"),
    ("snac-32khz", "32khz", 32000, 384, (8, 4, 2, 1), "music and sound effects"),
    ("snac-44khz", "44khz", 44100, 384, (8, 4, 2, 1), "music and sound effects"),
)

for _name, _variant, _sr, _hop, _strides, _use in _SNAC:
    _repo = f"{HF}snac_{_variant}"
    _fr = _sr / _hop
    _rates = ", ".join(f"{_fr / s:.1f}" for s in _strides)
    _kbps = sum(_fr / s for s in _strides) * 12 / 1000
    register(
        ModelEntry(
            name=_name,
            kind="acoustic",
            builder="audiotok.codecs.snac:build",
            description=f"SNAC {_sr / 1000:g} kHz, {len(_strides)} x 4096 codebooks at "
            f"{_rates} Hz (multi-rate, {_kbps:.2f} kbps): {_use}",
            source=_repo,
            license=LICENSE,
            sample_rate=_sr,
            frame_rate=_fr,
            files=(
                WeightFile("pytorch_model.bin", url=f"{_repo}/resolve/main/pytorch_model.bin"),
                WeightFile("config.json", url=f"{_repo}/resolve/main/config.json"),
            ),
            options={"variant": _variant},
        )
    )
