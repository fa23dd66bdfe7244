"""Registry entries of feature extractors (no torch imported here).

S3M entries load from ``$AUDIOTOK_HOME/<name>/`` in Hugging Face layout (``config.json`` +
the weights file listed), from ``--weights PATH`` (HF folder, HF/torchaudio weights file, or a
fairseq ``.pt`` with ``--allow-pickle``), or as random weights (``pretrained=False``).

Facts and where they come from:
- repos, layer counts and sizes: the models' Hugging Face configs and torchaudio's bundle
  parameters (``torchaudio.pipelines.HUBERT_BASE`` etc.; torchaudio 2.11 source);
- licences: the Hugging Face model cards (facebook/*: Apache-2.0; utter-project/mHuBERT-147:
  CC-BY-NC-SA-4.0). The microsoft/wavlm-* cards declare none; the code release
  (github.com/microsoft/unilm) is MIT;
- sha256: the Git LFS digests Hugging Face shows for the weights file at the pinned revision
  (hubert-base-ls960 @ca9b555, hubert-large-ll60k @1157920, hubert-xlarge-ll60k @e5a35e9,
  wavlm-base @main, mHuBERT-147 model.safetensors @main). Left empty where we could not read
  the published digest; the file's own sha256 is still recorded with every output.
- revisions without a digest: wavlm-base-plus @4c66d48 and wav2vec2-base @0b5b8e8, the
  commits public download scripts pin for these repos (read with the project's code search;
  no digest was published beside them). Where no commit could be found (wavlm-base,
  wavlm-large, wav2vec2-large, xlsr-300m, data2vec-audio-base, mhubert-147) the URL stays on
  ``main`` and ``audiotok models list`` says so; every file without a digest (all
  ``config.json`` too) is checked against the sha256 recorded at its first use
  (:func:`audiotok.weights.verify`).
- waveform normalisation: fairseq's ``task.normalize`` as mirrored by torchaudio's bundles
  (True for the layer-norm "large" models and data2vec, False for the group-norm bases).
"""

from audiotok.registry import ModelEntry, WeightFile, register

register(
    ModelEntry(
        name="mfcc",
        kind="extractor",
        builder="audiotok.extractors.mfcc:build",
        description="13 MFCC + deltas + delta-deltas (39 dims), Kaldi-style, as HuBERT iteration 1",
        source="computed (torchaudio.compliance.kaldi.mfcc); no weights",
        license="n/a",
        sample_rate=16000,
        frame_rate=100.0,
        shipped=True,
    )
)

HF = "https://huggingface.co/"
APACHE = "Apache-2.0 (HF model card)"
WAVLM_LICENSE = "MIT (microsoft/unilm code licence; the HF card states none)"

_BASE = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "feat_extract_norm": "group",
    "do_stable_layer_norm": False,
    "conv_bias": False,
}
_LARGE = {
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
    "conv_bias": True,
}
_XLARGE = {**_LARGE, "hidden_size": 1280, "num_hidden_layers": 48, "intermediate_size": 5120}


def _s3m(
    name,
    repo,
    model_type,
    size,
    licence,
    desc,
    *,
    rev="main",
    weights="pytorch_model.bin",
    sha256="",
    bundle="",
    normalize=None,
    **arch_extra,
):
    arch = {"model_type": model_type, **size, **arch_extra}
    src = f"{HF}{repo}" + (f" (torchaudio bundle {bundle})" if bundle else "")
    register(
        ModelEntry(
            name=name,
            kind="extractor",
            builder="audiotok.extractors.loading:load_s3m",
            description=desc,
            source=src,
            license=licence,
            sample_rate=16000,
            frame_rate=50.0,
            num_layers=arch["num_hidden_layers"],
            files=(
                WeightFile("config.json", url=f"{HF}{repo}/resolve/{rev}/config.json"),
                WeightFile(weights, url=f"{HF}{repo}/resolve/{rev}/{weights}", sha256=sha256),
            ),
            options={
                "arch": arch,
                "hf_repo": repo,
                "torchaudio_bundle": bundle,
                "normalize_waveform": (size is not _BASE) if normalize is None else normalize,
            },
        )
    )


_s3m(
    "hubert-base-ls960",
    "facebook/hubert-base-ls960",
    "hubert",
    _BASE,
    APACHE,
    "HuBERT Base, LibriSpeech 960 h; L6 + k-means is GSLM's HuBERT unit",
    bundle="HUBERT_BASE",
    rev="ca9b5559d9bae24c142e045c9b0e1db3f3878dbc",
    sha256="062249fffb353eab67547a2fbc129f7c31a2f459faf641b19e8fb007cc5c48ad",
)
_s3m(
    "hubert-large-ll60k",
    "facebook/hubert-large-ll60k",
    "hubert",
    _LARGE,
    APACHE,
    "HuBERT Large, Libri-Light 60 kh",
    bundle="HUBERT_LARGE",
    rev="1157920a9f2f87e6ce3e8b7659d7015ce4c0f104",
    sha256="45a299050945479a68cffe2ab7a63fd08931718ba18f05a42dbb86a5164178e0",
)
_s3m(
    "hubert-xlarge-ll60k",
    "facebook/hubert-xlarge-ll60k",
    "hubert",
    _XLARGE,
    APACHE,
    "HuBERT X-Large, Libri-Light 60 kh",
    bundle="HUBERT_XLARGE",
    rev="e5a35e9c798a14d4ccde7edd479cd6ec5d7e4c46",
    sha256="6131dc27f4508595daa1a13fec4aa1f6b4a579b5d93550bae26c13a83221f8a7",
)
_s3m(
    "wavlm-base",
    "microsoft/wavlm-base",
    "wavlm",
    _BASE,
    WAVLM_LICENSE,
    "WavLM Base, LibriSpeech 960 h",
    bundle="WAVLM_BASE",
    sha256="b41ab60fdcdc113ff164212c72b371dcd420a5773ca1f6c8f54d6809225ce072",
    rev="efa81aae7ff777e464159e0f877d54eac5b84f81",
)
_s3m(
    "wavlm-base-plus",
    "microsoft/wavlm-base-plus",
    "wavlm",
    _BASE,
    WAVLM_LICENSE,
    "WavLM Base+, 94 kh (Libri-Light, GigaSpeech, VoxPopuli)",
    bundle="WAVLM_BASE_PLUS",
    rev="4c66d4806a428f2e922ccfa1a962776e232d487b",
)
_s3m(
    "wavlm-large",
    "microsoft/wavlm-large",
    "wavlm",
    _LARGE,
    WAVLM_LICENSE,
    "WavLM Large, 94 kh (Libri-Light, GigaSpeech, VoxPopuli)",
    bundle="WAVLM_LARGE",
    rev="c1423ed94bb01d80a3f5ce5bc39f6026a0f4828c",
)
_s3m(
    "wav2vec2-base",
    "facebook/wav2vec2-base",
    "wav2vec2",
    _BASE,
    APACHE,
    "wav2vec 2.0 Base, LibriSpeech 960 h, not fine-tuned",
    bundle="WAV2VEC2_BASE",
    rev="0b5b8e868dd84f03fd87d01f9c4ff0f080fecfe8",
)
_s3m(
    "wav2vec2-large",
    "facebook/wav2vec2-large-lv60",
    "wav2vec2",
    _LARGE,
    APACHE,
    "wav2vec 2.0 Large (LV-60: Libri-Light 60 kh), not fine-tuned",
    bundle="WAV2VEC2_LARGE_LV60K",
)
_s3m(
    "xlsr-300m",
    "facebook/wav2vec2-xls-r-300m",
    "wav2vec2",
    _LARGE,
    APACHE,
    "XLS-R 300M: wav2vec 2.0 Large on 436 kh in 128 languages",
    bundle="WAV2VEC2_XLSR_300M",
)
_s3m(
    "data2vec-audio-base",
    "facebook/data2vec-audio-base",
    "data2vec-audio",
    {**_BASE, "conv_bias": True, "feat_extract_norm": "layer"},
    APACHE,
    "data2vec Audio Base, LibriSpeech 960 h, not fine-tuned",
    normalize=True,
)
_s3m(
    "mhubert-147",
    "utter-project/mHuBERT-147",
    "hubert",
    _BASE,
    "CC-BY-NC-SA-4.0 (HF model card)",
    "mHuBERT-147: multilingual HuBERT Base, 90 kh in 147 languages (3rd iteration)",
    weights="model.safetensors",
    sha256="2359b3e9dc6869cb0855119a2866f056aeb400e46252da9cbcc8e9b7aee50c8b",
    rev="69467f5ee758b795c77abe33ac4a09dff1b82fdf",
)
