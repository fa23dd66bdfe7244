"""Tiny random architectures of each S3M family (hidden 32, 2 layers, 3-conv stack)."""

from __future__ import annotations

TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": [16, 16, 16],
    "conv_kernel": [10, 3, 3],
    "conv_stride": [5, 2, 2],
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 2,
}
# (registry name whose family/norms we borrow, extra config)
FAMILIES = {
    "hubert-group": ("hubert-base-ls960", {}),
    "hubert-layer-preln": ("hubert-large-ll60k", {}),
    "wavlm-group": ("wavlm-base", {"num_buckets": 16, "max_bucket_distance": 50}),
    "wavlm-layer-preln": ("wavlm-large", {"num_buckets": 16, "max_bucket_distance": 50}),
    "wav2vec2-group": ("wav2vec2-base", {}),
    "data2vec": ("data2vec-audio-base", {"num_conv_pos_embeddings": 3, "conv_pos_kernel_size": 5}),
}


def tiny(family: str, **options):
    from audiotok import extractors

    name, extra = FAMILIES[family]
    cfg = {**TINY, **extra, **options.pop("config", {})}
    return extractors.load(name, pretrained=False, config=cfg, **options)


def stride_receptive():
    return 20, 10 + (3 - 1) * 5 + (3 - 1) * 10  # 5*2*2, receptive field 40
