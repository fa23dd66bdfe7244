"""Registry entries of the hybrid codecs (no torch imported here).

- SpeechTokenizer (ZhangXInFD/SpeechTokenizer, code Apache-2.0; README "Model List"):
  ``speechtokenizer_hubert_avg`` in the Hugging Face repo fnlp/SpeechTokenizer (LibriSpeech,
  teacher: the average of all HuBERT-base layers) and the Snake-activation model in
  fnlp/AnyGPT-speech-modules ``speechtokenizer/`` (LibriSpeech + Common Voice). Each is a
  ``config.json`` and a checkpoint; no checksums are published, so none is recorded and the
  sha256 of the file used goes into each token store. ``released`` is the architecture part
  of the released ``config.json`` (for ``pretrained=False``; the file itself is read when
  loading weights).
- Mimi (kyutai/mimi on Hugging Face, the codec of Moshi; licence CC-BY-4.0 on its model card):
  24 kHz, 12.5 Hz, 32 codebooks of 2048 (the first is the semantic split quantiser distilled
  from WavLM), ``config.json`` + ``model.safetensors``, pinned to a commit with digests.
- No commit of fnlp/SpeechTokenizer or fnlp/AnyGPT-speech-modules could be found: those URLs
  stay on ``main`` (``audiotok models list`` says "unpinned") and their files are checked
  against the sha256 recorded at first use.
"""

from audiotok.registry import ModelEntry, WeightFile, register

HF = "https://huggingface.co/"
ST_LICENSE = "code Apache-2.0 (ZhangXInFD/SpeechTokenizer); weights: see the Hub model card"
ST_RELEASED = {
    "n_filters": 64,
    "strides": [8, 5, 4, 2],
    "dimension": 1024,
    "semantic_dimension": 768,
    "bidirectional": True,
    "dilation_base": 2,
    "residual_kernel_size": 3,
    "n_residual_layers": 1,
    "lstm_layers": 2,
    "activation": "ELU",
    "codebook_size": 1024,
    "n_q": 8,
    "sample_rate": 16000,
}

# name, repo folder, checkpoint file name, activation, training data
_ST = (
    (
        "speechtokenizer-hubert-avg",
        "fnlp/SpeechTokenizer/resolve/main/speechtokenizer_hubert_avg/",
        "SpeechTokenizer.pt",
        "ELU",
        "LibriSpeech",
    ),
    (
        "speechtokenizer-snake",
        "fnlp/AnyGPT-speech-modules/resolve/47320f954f02f108d0359fb80cd481038bba6be9/speechtokenizer/",
        "ckpt.dev",
        "Snake",
        "LibriSpeech + Common Voice",
    ),
)

for name, folder, ckpt, act, data in _ST:
    register(
        ModelEntry(
            name=name,
            kind="hybrid",
            builder="audiotok.codecs.speechtokenizer:build",
            description=f"SpeechTokenizer 16 kHz, 50 Hz, 8 x 1024, {act}, {data}; codebook 0 "
            "distilled from the average of HuBERT-base layers",
            source=HF + folder,
            license=ST_LICENSE,
            sample_rate=16000,
            frame_rate=50.0,
            files=(
                WeightFile(ckpt, url=HF + folder + ckpt),
                WeightFile("config.json", url=HF + folder + "config.json"),
            ),
            options={"released": {**ST_RELEASED, "activation": act}},
        )
    )

# The commit and the digests that public download scripts pin for kyutai/mimi (read with the
# project's code search): model.safetensors is 384,649,828 bytes.
MIMI_REVISION = "89091b3e466eb6a9d11e537bf26b144f194978f7"
MIMI = HF + f"kyutai/mimi/resolve/{MIMI_REVISION}/"
register(
    ModelEntry(
        name="mimi",
        kind="hybrid",
        builder="audiotok.codecs.mimi:build",
        description="Mimi (Moshi's codec) 24 kHz, causal, 12.5 Hz, 8 to 32 x 2048; codebook 0 "
        "is the semantic quantiser distilled from WavLM (needs audiotok[s3m])",
        source=HF + "kyutai/mimi",
        license="CC-BY-4.0 (kyutai/mimi model card)",
        sample_rate=24000,
        frame_rate=12.5,
        files=(
            WeightFile(
                "model.safetensors",
                url=MIMI + "model.safetensors",
                sha256="bac7e85083dcded655d24eaadde7e6eea34c0da1b35fa2d284e641bd2b942a5e",
                size_bytes=384_649_828,
            ),
            WeightFile(
                "config.json",
                url=MIMI + "config.json",
                sha256="aca6f44b04f7bc2e7466b71597d2d51e463ed1cf3cd7025d8848595580546c36",
            ),
        ),
        streaming=True,
        options={"n_codebooks": 8},
    )
)
