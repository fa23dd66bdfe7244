"""WavTokenizer: one 4096-entry codebook at 40 or 75 Hz, 24 kHz audio (network:
:mod:`audiotok.codecs.wavtokenizer_model`).

Weights: the released PyTorch Lightning ``.ckpt`` (``{"state_dict": ...}``) read with
``torch.load(weights_only=True)``; only the keys of the encoder, the quantizer, ``backbone.``
and ``head.`` are used (the EnCodec decoder and training state are skipped). A checkpoint that
needs unpickling is refused; ``python -m audiotok.codecs.pickle_convert wavtokenizer SRC.ckpt
--allow-pickle`` (the one converter) writes ``SRC.safetensors``, which loads without pickle.

Every item is encoded and decoded alone: the decoder's group norms and attention take all
frames, so padding would change the audio (the encoder alone would batch exactly).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audiotok import __version__
from audiotok.codecs.base import Codec
from audiotok.errors import AudiotokError
from audiotok.spec import TokenSpec

SAMPLE_RATE = 24000
KEEP = (
    "feature_extractor.encodec.encoder.",
    "feature_extractor.encodec.quantizer.",
    "backbone.",
    "head.",
)
_NEW_NORM = {".parametrizations.weight.original0": ".weight_g",
             ".parametrizations.weight.original1": ".weight_v"}  # fmt: skip

# variant -> the config's ``dowmsamples`` (hop 600: 40 Hz; hop 320: 75 Hz)
RATIOS = {40: (6, 5, 5, 4), 75: (8, 5, 4, 2)}


class WavTokenizerCodec(Codec):
    # the padded hooks run every item alone (see the module doc), so a padded batch gives each
    # file its codes alone on any device
    padded_exact_on = ("cpu", "cuda")

    def __init__(self, model: Any, name: str, weights_sha256: str):
        self.model = model.eval()
        self.hop_length = model.cfg.hop
        self.spec = TokenSpec(
            kind="acoustic",
            name=name,
            sample_rate=SAMPLE_RATE,
            frame_rate=SAMPLE_RATE / self.hop_length,
            num_codebooks=1,
            codebook_size=model.cfg.bins,
            weights_sha256=weights_sha256,
            params={},
            version=__version__,
        )

    def to(self, device: str) -> WavTokenizerCodec:
        self.device = device
        self.model.to(device)
        return self

    def _encode_padded(self, wav, lengths):
        from audiotok.codecs.padding import encode_items

        return encode_items(lambda x: self.model.encode(x)[0], wav, lengths, self.num_frames)

    def _decode_padded(self, codes, code_lengths):
        from audiotok.codecs.padding import decode_items

        return decode_items(lambda c: self.model.decode(c)[0], codes, code_lengths, self.hop_length)


def architecture(frame_rate: int, config: dict[str, Any] | None = None, seed: int = 0) -> Any:
    """The network of a ``frame_rate`` (40 or 75) model with random weights drawn from a
    generator seeded ``seed`` (torch's global RNG is left as it was); ``config``: fields of
    :class:`~audiotok.codecs.wavtokenizer_model.WavTokenizerConfig` (tests shrink them)."""
    import dataclasses

    from audiotok import rng
    from audiotok.codecs.wavtokenizer_model import WavTokenizer, WavTokenizerConfig

    known = {f.name for f in dataclasses.fields(WavTokenizerConfig)}
    unknown = sorted(set(config or {}) - known)
    if unknown:
        raise AudiotokError(f"unknown WavTokenizer config field(s): {', '.join(unknown)}")
    opts: dict[str, Any] = {"ratios": RATIOS[frame_rate], **(config or {})}
    opts["ratios"] = tuple(opts["ratios"])
    with rng.seeded(seed):
        return WavTokenizer(WavTokenizerConfig(**opts)).eval()


def read_state(path: Path) -> dict[str, Any]:
    """The used part of a released ``.ckpt`` (or of its safetensors conversion)."""

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        from audiotok.codecs.pickle_convert import load_weights_only

        ckpt = load_weights_only(path, "wavtokenizer")
        if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
            raise AudiotokError(f"{path} is not a WavTokenizer checkpoint (no 'state_dict')")
        state = ckpt["state_dict"]
    out = {}
    for key, value in state.items():
        if key.startswith(KEEP):
            for new, old in _NEW_NORM.items():
                key = key.replace(new, old)
            out[key] = value
    return out


def load_state(model: Any, state: dict[str, Any], where: str) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        raise AudiotokError(f"{where} does not fit this WavTokenizer ({lines[-1][:200]})") from None


def build(
    entry: Any,
    *,
    frame_rate: int = 75,
    weights: str | None = None,
    pretrained: bool = True,
    seed: int = 0,
    device: str = "cpu",
    config: dict[str, Any] | None = None,
) -> WavTokenizerCodec:
    """A registry entry's WavTokenizer: ``weights`` its ``.ckpt`` (default: the cache's);
    ``pretrained=False``: random weights (``seed``); ``config`` changes the sizes (tests)."""
    from audiotok import weights as W

    if frame_rate not in RATIOS:
        raise AudiotokError(f"WavTokenizer runs at 40 or 75 frames a second, not {frame_rate}")
    path = ""
    if pretrained:  # a missing file fails before any model is built
        file, sha = W.resolve(entry, entry.files[0], override=weights)
        state = read_state(file)
    model = architecture(frame_rate, config, seed)
    if pretrained:
        load_state(model, state, str(file))
        path = str(file.resolve())
    else:
        sha = W.state_dict_sha256(model.state_dict())
    codec = WavTokenizerCodec(model, entry.name, sha)
    codec.weights_path = path
    return codec.to(device)
