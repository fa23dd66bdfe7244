"""Registry entries of the SNAC codecs (no torch imported here).

hubertsiuzdak/snac_{24,32,44}khz on Hugging Face (MIT, the repositories' model cards and the
``snac`` package's LICENSE): ``pytorch_model.bin`` + ``config.json`` each. The 24 kHz files
are pinned to a commit found in public code that downloads them; no commit of the 32/44 kHz
repositories could be found here, so those URLs stay on ``main`` (``audiotok models list``
says "unpinned"). Every file is checked against the sha256 recorded at its first use.
"""

from audiotok.registry import ModelEntry, WeightFile, register

HF = "https://huggingface.co/hubertsiuzdak/"
LICENSE = "MIT (hubertsiuzdak/snac)"

# name, variant, rate, hop, VQ strides, use, revision
_SNAC = (
    ("snac-24khz", "24khz", 24000, 512, (4, 2, 1), "speech; the codec of Orpheus TTS",
     "d73ad176a12188fcf4f360ba3bf2c2fbbe8f58ec"),
    ("snac-32khz", "32khz", 32000, 384, (8, 4, 2, 1), "music and sound effects", "main"),
    ("snac-44khz", "44khz", 44100, 384, (8, 4, 2, 1), "music and sound effects", "main"),
)  # fmt: skip

for _name, _variant, _sr, _hop, _strides, _use, _rev in _SNAC:
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
                WeightFile("pytorch_model.bin", url=f"{_repo}/resolve/{_rev}/pytorch_model.bin"),
                WeightFile("config.json", url=f"{_repo}/resolve/{_rev}/config.json"),
            ),
            options={"variant": _variant},
        )
    )
