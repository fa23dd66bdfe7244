"""XCodec2 (Llasa's tokenizer): one 65,536-entry FSQ codebook at 50 Hz, 16 kHz audio.

The released model is the Hugging Face repository ``HKUSTAudio/xcodec2`` (CC-BY-NC-4.0):
``model.safetensors`` holds the codec (``CodecEnc``, ``SemanticEncoder_module``,
``fc_prior``, ``generator``, ``fc_post_a``; network in :mod:`audiotok.codecs.xcodec2_model`)
and w2v-BERT 2.0 under ``semantic_model.``, which runs as transformers' ``Wav2Vec2BertModel``
(cut to the 16 layers used) behind its ``SeamlessM4TFeatureExtractor`` (80 log-mel bins,
two frames stacked: 160 values at 50 Hz), as the ``xcodec2`` package does.

Frames, as the package's ``encode_code``: the waveform is zero-padded on the right by
``320 - T % 320`` samples (320 when ``T`` is a multiple: one frame more), and the feature
extractor sees it with 160 more zeros on each side; ``T // 320 + 1`` frames. The package
encodes one file at a time (its feature extractor reads the batch's first row only), and so
does audiotok: the w2v-BERT features are normalised per utterance and the attention and
group norms take all frames, so padding would change the codes. Long files are not cut
into windows (memory grows with the square of the length in the attention layers).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from audiotok import __version__
from audiotok.codecs.base import Codec
from audiotok.errors import AudiotokError
from audiotok.spec import TokenSpec

SAMPLE_RATE = 16000
SEMANTIC_PREFIX = "semantic_model."
# weight norm saved by torch.nn.utils.weight_norm (older checkpoints) -> parametrizations
_LEGACY_NORM = {".weight_g": ".parametrizations.weight.original0",
                ".weight_v": ".parametrizations.weight.original1"}  # fmt: skip


class XCodec2Codec(Codec):
    # the padded hooks run every item alone (see the module doc), so a padded batch gives each
    # file its codes alone on any device
    padded_exact_on = ("cpu", "cuda")

    def __init__(self, model: Any, semantic: Any, name: str, weights_sha256: str):
        from transformers import SeamlessM4TFeatureExtractor

        self.model = model.eval()
        self.semantic = semantic.eval()
        cfg = model.cfg
        self.cfg = cfg
        self.hop_length = cfg.hop
        self.features = SeamlessM4TFeatureExtractor(sampling_rate=SAMPLE_RATE, padding_value=1.0)
        self.spec = TokenSpec(
            kind="acoustic",
            name=name,
            sample_rate=SAMPLE_RATE,
            frame_rate=SAMPLE_RATE / cfg.hop,
            num_codebooks=1,
            codebook_size=cfg.codebook_size,
            weights_sha256=weights_sha256,
            params={},
            version=__version__,
        )

    def to(self, device: str) -> XCodec2Codec:
        self.device = device
        self.model.to(device)
        self.semantic.to(device)
        return self

    def num_frames(self, num_samples: int) -> int:
        return num_samples // self.hop_length + 1

    def _encode_one(self, x):
        """x [T] -> codes [T // hop + 1]."""
        import torch
        import torch.nn.functional as F

        hop = self.hop_length
        x = F.pad(x, (0, hop - x.shape[-1] % hop))
        half = hop // 2
        feats = self.features(
            F.pad(x, (half, half)).float().cpu().numpy(),
            sampling_rate=SAMPLE_RATE,
            return_tensors="pt",
        ).input_features.to(x.device)
        out = self.semantic(feats, output_hidden_states=True)
        layer = out.hidden_states[self.cfg.semantic_layer]
        with torch.autocast(x.device.type, enabled=False):
            return self.model.quantize(layer, x.view(1, 1, -1))[0]

    def _encode_padded(self, wav, lengths):
        from audiotok.codecs.padding import encode_items

        return encode_items(lambda x: self._encode_one(x[0, 0]), wav, lengths, self.num_frames)

    def _decode_padded(self, codes, code_lengths):
        from audiotok.codecs.padding import decode_items

        def one(c):
            return self.model.decode(c[:, 0])[0]

        return decode_items(one, codes, code_lengths, self.hop_length)


def architecture(config: dict[str, Any] | None = None, seed: int = 0) -> tuple[Any, Any]:
    """(codec network, w2v-BERT) with random weights drawn from a generator seeded ``seed``
    (torch's global RNG is left as it was). ``config``: fields of
    :class:`~audiotok.codecs.xcodec2_model.XCodec2Config` (``w2v``: Wav2Vec2BertConfig fields)."""
    from transformers import Wav2Vec2BertConfig, Wav2Vec2BertModel

    from audiotok import rng
    from audiotok.codecs.xcodec2_model import XCodec2, XCodec2Config

    known = {f.name for f in dataclasses.fields(XCodec2Config)}
    unknown = sorted(set(config or {}) - known)
    if unknown:
        raise AudiotokError(f"unknown XCodec2 config field(s): {', '.join(unknown)}")
    opts: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in (config or {}).items()
    }
    cfg = XCodec2Config(**opts)
    w2v_cfg = Wav2Vec2BertConfig(**{**XCodec2Config().w2v, **cfg.w2v})
    if w2v_cfg.hidden_size != cfg.semantic_dim or w2v_cfg.num_hidden_layers < cfg.semantic_layer:
        raise AudiotokError(
            f"w2v-BERT of {w2v_cfg.hidden_size} x {w2v_cfg.num_hidden_layers} layers does not "
            f"give layer {cfg.semantic_layer} of {cfg.semantic_dim} channels"
        )
    with rng.seeded(seed):
        model = XCodec2(cfg)
        semantic = Wav2Vec2BertModel(w2v_cfg)
    return model.eval(), semantic.eval()


def split_state(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A released state dict -> (codec part, w2v-BERT part); old weight-norm names renamed."""
    codec, semantic = {}, {}
    for key, value in state.items():
        if key.startswith(SEMANTIC_PREFIX):
            semantic[key[len(SEMANTIC_PREFIX) :]] = value
            continue
        for old, new in _LEGACY_NORM.items():
            if key.endswith(old):
                key = key[: -len(old)] + new
        codec[key] = value
    return codec, semantic


def load_state(model: Any, semantic: Any, state: dict[str, Any], where: str) -> None:
    """Load by key names. The codec part must match exactly; of w2v-BERT only the layers
    up to the one used are needed (the release holds all 24: the rest are skipped)."""
    codec, sem = split_state(state)
    wanted = semantic.state_dict()
    missing = sorted(set(wanted) - set(sem))
    try:
        if missing:
            raise RuntimeError(f"missing w2v-BERT keys: {', '.join(missing[:3])}")
        semantic.load_state_dict({k: v for k, v in sem.items() if k in wanted}, strict=True)
        model.load_state_dict(codec, strict=True)
    except RuntimeError as e:
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        raise AudiotokError(f"{where} does not fit XCodec2 ({lines[-1][:200]})") from None


def build(
    entry: Any,
    *,
    weights: str | None = None,
    pretrained: bool = True,
    seed: int = 0,
    device: str = "cpu",
    config: dict[str, Any] | None = None,
) -> XCodec2Codec:
    """The registry's XCodec2: ``weights`` a ``model.safetensors`` (default: the cache's);
    ``pretrained=False``: random weights (``seed``); ``config`` changes the sizes (tests)."""
    from audiotok import weights as W

    if pretrained:  # a missing file fails before any model is built
        file, sha = W.resolve(entry, entry.files[0], override=weights)
    model, semantic = architecture(config, seed)
    path = ""
    if pretrained:
        load_state(model, semantic, W.load_state_dict(file), str(file))
        path = str(file.resolve())
    else:
        state = {**model.state_dict(), **semantic.state_dict(prefix=SEMANTIC_PREFIX)}
        sha = W.state_dict_sha256(state)
    codec = XCodec2Codec(model, semantic, entry.name, sha)
    codec.weights_path = path
    return codec.to(device)
