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

# S3Tokenizer (CosyVoice's supervised semantic tokenizer). URLs and sha256: the reference
# package s3tokenizer 0.3.0 (``_MODELS``, ``_SHA256S`` in its __init__.py); the files are the
# ONNX release at ModelScope "master" (no pinned revision published). Licence: Apache-2.0,
# FunAudioLLM/CosyVoice and the CosyVoice model cards. Rates: 16 kHz audio, 100 mel frames/s
# subsampled 2x (v1 50 Hz) or 4x (25 Hz).
S3_NO_DECODER = (
    "S3Tokenizer tokens have no decoder in audiotok; CosyVoice synthesises them with its own "
    "flow-matching model and HiFi-GAN, which audiotok does not include"
)
# The ONNX files the s3tokenizer package checks by sha256; v1-50hz and v2 come from the Hugging
# Face mirrors of the CosyVoice repos at a fixed commit (the same files: the sha256 says so on
# download), v1-25hz only from ModelScope's branch (no pinned copy known).
_MS = "https://www.modelscope.cn/models/"
_HF = "https://huggingface.co/"
_S3 = (
    (
        "s3tokenizer-v1-50hz",
        "v1-50hz",
        50.0,
        4096,
        _HF + "FunAudioLLM/CosyVoice-300M/resolve/f3ba236933d576582badded489545704c9b54799/"
        "speech_tokenizer_v1.onnx",
        "23b5a723ed9143aebfd9ffda14ac4c21231f31c35ef837b6a13bb9e5488abb1e",
        "CosyVoice-300M",
    ),
    (
        "s3tokenizer-v1-25hz",
        "v1-25hz",
        25.0,
        4096,
        _MS + "iic/CosyVoice-300M-25Hz/resolve/master/speech_tokenizer_v1.onnx",
        "56285ddd4a83e883ee0cb9f8d69c1089b53a94b1f78ff7e4a0224a27eb4cb486",
        "CosyVoice-300M-25Hz",
    ),
    (
        "s3tokenizer-v2-25hz",
        "v2-25hz",
        25.0,
        6561,
        _HF + "FunAudioLLM/CosyVoice2-0.5B/resolve/eec1ae6c79877dbd9379285cf8789c9e0879293d/"
        "speech_tokenizer_v2.onnx",
        "d43342aa12163a80bf07bffb94c9de2e120a8df2f9917cd2f642e7f4219c6f71",
        "CosyVoice 2",
    ),
)
for _name, _variant, _rate, _size, _path, _sha, _of in _S3:
    register(
        ModelEntry(
            name=_name,
            kind="semantic",
            builder="audiotok.extractors.s3tokenizer:build",
            description=f"S3Tokenizer {_variant} of {_of}: supervised semantic tokens, "
            f"{_rate:g} Hz x {_size} ({'FSQ' if _size == 6561 else 'VQ'}); encode only "
            "(load its PyTorch form: s3tokenizer.onnx2torch)",
            source=_path,
            license="Apache-2.0 (FunAudioLLM/CosyVoice, model card)",
            sample_rate=16000,
            frame_rate=_rate,
            files=(WeightFile(_path.rsplit("/", 1)[1], url=_path, sha256=_sha),),
            options={"variant": _variant},
            encode_only=True,
        )
    )
