"""Registry entries of tokenizers (no torch imported here)."""

from audiotok.registry import ModelEntry, WeightFile, register

register(
    ModelEntry(
        name="mfcc-km100",
        kind="semantic",
        builder="audiotok.semantic:build",
        description="MFCC (39-d, 100 Hz) + 100-centroid k-means shipped in the package; "
        "demos and HuBERT iteration-1 style targets",
        source="shipped: audiotok/assets/mfcc-km100.safetensors (scripts/train_mfcc_km100.py)",
        license="MIT (trained on speech synthesised by espeak-ng)",
        sample_rate=16000,
        frame_rate=100.0,
        shipped=True,
        options={"extractor": "mfcc", "codebook": "builtin:mfcc-km100"},
    )
)

ENCODEC_URL = "https://dl.fbaipublicfiles.com/encodec/v0/"

register(
    ModelEntry(
        name="encodec-24khz",
        kind="acoustic",
        builder="audiotok.codecs.encodec:build",
        description="EnCodec 24 kHz causal, mono, 75 Hz, up to 32 x 1024 codebooks "
        "(1.5/3/6/12/24 kbps = 2/4/8/16/32 codebooks)",
        source=ENCODEC_URL + "encodec_24khz-d7cc33bc.th",
        license="MIT (facebookresearch/encodec)",
        sample_rate=24000,
        frame_rate=75.0,
        files=(
            WeightFile(
                "encodec_24khz-d7cc33bc.th",
                url=ENCODEC_URL + "encodec_24khz-d7cc33bc.th",
                sha256_prefix="d7cc33bc",
            ),
        ),
        streaming=True,
        options={"variant": "24khz", "bandwidth": 6.0},
    )
)

register(
    ModelEntry(
        name="encodec-48khz",
        kind="acoustic",
        builder="audiotok.codecs.encodec:build",
        description="EnCodec 48 kHz non-causal, stereo (mono duplicated), 150 Hz, up to "
        "16 x 1024 codebooks (3/6/12/24 kbps = 2/4/8/16) + a per-second loudness row",
        source=ENCODEC_URL + "encodec_48khz-7e698e3e.th",
        license="MIT (facebookresearch/encodec)",
        sample_rate=48000,
        frame_rate=150.0,
        files=(
            WeightFile(
                "encodec_48khz-7e698e3e.th",
                url=ENCODEC_URL + "encodec_48khz-7e698e3e.th",
                sha256_prefix="7e698e3e",
            ),
        ),
        options={"variant": "48khz", "bandwidth": 6.0},
    )
)
