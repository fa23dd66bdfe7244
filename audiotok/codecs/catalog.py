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

# XCodec2 (Llasa): the Hugging Face repository HKUSTAudio/xcodec2 (model card: CC-BY-NC-4.0);
# model.safetensors holds the codec and w2v-BERT 2.0. No commit or checksum is recorded here:
# the file is checked against its digest at first use.
_HF_XCODEC2 = "https://huggingface.co/HKUSTAudio/xcodec2"
register(
    ModelEntry(
        name="xcodec2",
        kind="acoustic",
        builder="audiotok.codecs.xcodec2:build",
        description="XCodec2 16 kHz (Llasa): w2v-BERT 2.0 + acoustic encoder, one 65,536-entry "
        "FSQ codebook at 50 Hz (0.8 kbps); non-commercial licence",
        source=_HF_XCODEC2,
        license="CC-BY-NC-4.0 (HKUSTAudio/xcodec2 model card)",
        sample_rate=16000,
        frame_rate=50.0,
        files=(
            WeightFile("model.safetensors", url=f"{_HF_XCODEC2}/resolve/main/model.safetensors"),
        ),
    )
)

# WavTokenizer (jishengpeng/WavTokenizer, MIT): the checkpoints its README lists, on Hugging
# Face under novateur/ (file names as published). Commits (and one sha256: the name of the
# file's blob in a public Hugging Face cache listing) as found in public snapshot paths; the
# two small models' repository had none to be found: branch main, checked on first use.
_HF_WT = "https://huggingface.co/novateur/"
# name, repository, revision, file, frames per second, what it was trained on, sha256
_WAVTOKENIZER = (
    ("wavtokenizer-small-40", "WavTokenizer", "main", "WavTokenizer_small_600_24k_4096.ckpt", 40,
     "LibriTTS speech", ""),
    ("wavtokenizer-small-75", "WavTokenizer", "main", "WavTokenizer_small_320_24k_4096.ckpt", 75,
     "LibriTTS speech", ""),
    ("wavtokenizer-medium-speech-75", "WavTokenizer-medium-speech-75token",
     "8858552e69270816d6aeb37bfcf3b770769d4899", "wavtokenizer_medium_speech_320_24k_v2.ckpt",
     75, "10,000 h of speech", ""),
    ("wavtokenizer-medium-music-audio-75", "WavTokenizer-medium-music-audio-75token",
     "1bcbe86db88fc1f1f86c7ea192e791b3ede17da2",
     "wavtokenizer_medium_music_audio_320_24k_v2.ckpt", 75, "10,000 h of music and audio", ""),
    ("wavtokenizer-large-speech-75", "WavTokenizer-large-speech-75token",
     "9ecf0f435d6f8a75390457f31c6ed8f5f0d1af1b", "wavtokenizer_large_speech_320_24k.ckpt", 75,
     "80,000 h of speech, audio, music", ""),
    ("wavtokenizer-large-unify-40", "WavTokenizer-large-unify-40token",
     "7dc47a9450ce71cab736434b7645604013ca028b", "wavtokenizer_large_unify_600_24k.ckpt", 40,
     "80,000 h of speech, audio, music",
     "72182c1b6bd5ea7f84cf3ec78a0a3244cf42daa660b2e9bce23f5d74064d8205"),
)  # fmt: skip
for _name, _repo, _rev, _file, _fps, _data, _sha in _WAVTOKENIZER:
    register(
        ModelEntry(
            name=_name,
            kind="acoustic",
            builder="audiotok.codecs.wavtokenizer:build",
            description=f"WavTokenizer 24 kHz ({_data}): one 4096-entry codebook at {_fps} Hz "
            f"({_fps * 12 / 1000:g} kbps)",
            source=f"{_HF_WT}{_repo}",
            license="MIT (jishengpeng/WavTokenizer)",
            sample_rate=24000,
            frame_rate=float(_fps),
            files=(WeightFile(_file, url=f"{_HF_WT}{_repo}/resolve/{_rev}/{_file}", sha256=_sha),),
            options={"frame_rate": _fps},
        )
    )
