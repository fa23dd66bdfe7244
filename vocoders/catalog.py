"""Registry entries of released unit vocoders (no torch imported here).

- fairseq's unit HiFi-GAN on HuBERT-base (LibriSpeech 960 h) layer-6 k-means-100 units,
  trained on LJSpeech, with a duration predictor: listed in fairseq
  ``examples/speech_to_speech/docs/direct_s2st_discrete_units.md`` ("Unit-based HiFi-GAN
  Vocoder"). fairseq is MIT; LJSpeech is public domain. fairseq publishes no checksum.
- textlesslib's vocoders (``textless/checkpoint_manager/__init__.py``, which publishes the
  sha256 of every file): the Expresso HiFi-GANs (speaker and style tables, trained on
  Expresso + LJSpeech + VCTK; the Expresso dataset is CC BY-NC 4.0, so treat the weights as
  non-commercial) and TWIST's 25 Hz mHuBERT vocoder (LJSpeech). textlesslib is MIT.

The files are pickles: ``audiotok vocoder import`` (``--allow-pickle`` where needed) converts
them once to safetensors under ``$AUDIOTOK_HOME/<name>/audiotok/``.
"""

from audiotok.registry import ModelEntry, WeightFile, register

FAIRSEQ = "https://dl.fbaipublicfiles.com/fairseq/speech_to_speech/vocoder/code_hifigan/"
EXPRESSO = "https://dl.fbaipublicfiles.com/textless_nlp/expresso/checkpoints/"
TWIST = "https://dl.fbaipublicfiles.com/textless_nlp/twist/speech_tokenizer/"
NON_COMMERCIAL = "code MIT (facebookresearch/textlesslib); trained on Expresso (CC BY-NC 4.0)"
SPEAKERS_SHA = "2efabb7a4ad786da34fe6fbe99c3906b7abd40b2e01c81b7efde76142ae3d552"
STYLES_SHA = "a6f63206518448277c63c3a251ac13484784829cf2e1b0a23b0860dd32543520"
BUILDER = "audiotok.vocoders.importer:build_released"

register(
    ModelEntry(
        name="code-hifigan-hubert-base-km100-lj",
        kind="vocoder",
        builder=BUILDER,
        description="unit HiFi-GAN for HuBERT-base L6 km100 units (50 Hz), LJSpeech voice, "
        "duration predictor (fairseq speech-to-speech)",
        source=FAIRSEQ + "hubert_base_100_lj/g_00500000",
        license="MIT (facebookresearch/fairseq); LJSpeech public domain",
        sample_rate=16000,
        frame_rate=50.0,
        files=(
            # local names carry the folder: "config.json" alone would match other models' files
            WeightFile(
                "hubert_base_100_lj_g_00500000", url=FAIRSEQ + "hubert_base_100_lj/g_00500000"
            ),
            WeightFile(
                "hubert_base_100_lj_config.json", url=FAIRSEQ + "hubert_base_100_lj/config.json"
            ),
        ),
    )
)

register(
    ModelEntry(
        name="hifigan-mhubert-25hz-km500-lj",
        kind="vocoder",
        builder=BUILDER,
        description="unit HiFi-GAN for TWIST's 25 Hz mHuBERT L11 km500 units, LJSpeech voice",
        source=TWIST + "hifigan_lj_mhubert_base_25hz.pt",
        license="MIT (facebookresearch/textlesslib); LJSpeech public domain",
        sample_rate=16000,
        frame_rate=25.0,
        files=(
            WeightFile(
                "hifigan_lj_mhubert_base_25hz.pt",
                url=TWIST + "hifigan_lj_mhubert_base_25hz.pt",
                sha256="d88224e95c501e2cd59a6e4014753169cfe060fb7ade3cc0da03c809fef73b79",
            ),
            WeightFile(
                "hifigan_lj_mhubert_base_25hz_config.json",
                url=TWIST + "hifigan_lj_mhubert_base_25hz_config.json",
                sha256="116dc39be4970cd393e562acd0a0ec70a86aaba7e9ca469b8b836cb3fe46afc7",
            ),
        ),
    )
)

# name, upstream folder, generator sha256, config sha256, units
_EXPRESSO = (
    (
        "hifigan-expresso-hubert-base-l9-km500",
        "hifigan_expresso_lj_vctk_hubert_base_ls960_L9_km500",
        "d50f4704e961c29cb386924ef32cd0c3a4d1089a3f9be856f8a3b6dcfdd6147a",
        "31e65ef5e100cb43de08f2c8d225496ace1ed87a49fcb8ee44bd6805f079b1f0",
        "HuBERT-base L9 km500",
    ),
    (
        "hifigan-expresso-hubert-base-l9-km2000-expresso",
        "hifigan_expresso_lj_vctk_hubert_base_ls960_L9_km2000_expresso",
        "b892fdcca889f4bc6d7f0a0f407ae5d01eca8aaa66b9be333ef33a1c50f2ef52",
        "73932563cedc43cd1dcddfab36ce3b2c3cb76eef3423d25d1fb536ce1ec513bb",
        "HuBERT-base L9 km2000 (k-means on Expresso)",
    ),
    (
        "hifigan-expresso-mhubert-l12-km2000",
        "hifigan_expresso_lj_vctk_mhubert_base_vp_mls_cv_8lang_it3_L12_km2000",
        "0d160c97519d3ed644e2ec636581b79e56767d60325308849fbb389a494c1466",
        "73932563cedc43cd1dcddfab36ce3b2c3cb76eef3423d25d1fb536ce1ec513bb",
        "mHuBERT-base (8 languages) L12 km2000",
    ),
    (
        "hifigan-expresso-mhubert-l12-km2000-expresso",
        "hifigan_expresso_lj_vctk_mhubert_base_vp_mls_cv_8lang_it3_L12_km2000_expresso",
        "8d1585f20edd9b0982f80acbb387a892adf19e4aa719b8dea795c8fa96285cbc",
        "73932563cedc43cd1dcddfab36ce3b2c3cb76eef3423d25d1fb536ce1ec513bb",
        "mHuBERT-base (8 languages) L12 km2000 (k-means on Expresso)",
    ),
)

for name, folder, gen_sha, cfg_sha, units in _EXPRESSO:
    base = EXPRESSO + folder + "/"
    register(
        ModelEntry(
            name=name,
            kind="vocoder",
            builder=BUILDER,
            description=f"Expresso unit HiFi-GAN for {units} units (50 Hz), speaker + style "
            "tables (textlesslib)",
            source=base + "generator.pt",
            license=NON_COMMERCIAL,
            sample_rate=16000,
            frame_rate=50.0,
            files=(
                WeightFile(f"{folder}_generator.pt", url=base + "generator.pt", sha256=gen_sha),
                WeightFile(f"{folder}_config.json", url=base + "config.json", sha256=cfg_sha),
                WeightFile(
                    f"{folder}_speakers.txt", url=base + "speakers.txt", sha256=SPEAKERS_SHA
                ),
                WeightFile(f"{folder}_styles.txt", url=base + "styles.txt", sha256=STYLES_SHA),
            ),
        )
    )
