"""Vocos decoders: EnCodec 24 kHz codes -> audio, and log-mel spectrograms -> audio.

A released Vocos is a folder (Hugging Face ``charactr/vocos-*``): ``config.yaml`` (read with
``yaml.safe_load``; only the known ``init_args`` of its three parts are used, the
``class_path`` strings only select between the two known feature kinds) and
``pytorch_model.bin`` (``torch.load(weights_only=True)``).

- ``audiotok decode STORE --decoder vocos``: an EnCodec-24 kHz store (2, 4, 8 or 16 codebooks:
  1.5, 3, 6, 12 kbps, Vocos's bandwidth ids 0-3) through ``vocos-encodec-24khz``;
- ``audiotok.load_vocos("vocos-mel-24khz")``: ``.mel(wav)`` gives the features it expects
  (24 kHz, 100 bins, hop 256) and ``.decode_mel(mel)`` the waveform.

The EnCodec release (gemelo-ai/vocos README: bandwidth ids index ``[1.5, 3.0, 6.0, 12.0]``)
is a backbone 128 -> 384 (1152 inner, 8 blocks, 4 AdaLayerNorm classes) and an ISTFT head of
n_fft 1280, hop 320, "same" padding; its ``feature_extractor.codebook_weights`` (16384 x 128)
is a parameter of the checkpoint, loaded from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from audiotok.codecs.vocos_model import Backbone, ISTFTHead, VocosModel
from audiotok.errors import AudiotokError

ENCODEC_BINS = 1024
ENCODEC_FRAME_RATE = 75.0
_BACKBONE_ARGS = (
    "input_channels",
    "dim",
    "intermediate_dim",
    "num_layers",
    "layer_scale_init_value",
    "adanorm_num_embeddings",
)
_HEAD_ARGS = ("dim", "n_fft", "hop_length", "padding")
_MEL_ARGS = ("sample_rate", "n_fft", "hop_length", "n_mels", "padding")


def _args(part: Any, known: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(part, dict) or not isinstance(part.get("init_args", {}), dict):
        raise AudiotokError(f"{where}: not a Vocos config (no init_args mapping)")
    return {k: v for k, v in part.get("init_args", {}).items() if k in known}


def parse_config(cfg: Any, where: str = "config") -> dict[str, Any]:
    """The known fields of a Vocos ``config.yaml`` (already parsed): feature kind and args,
    backbone and head args. Unknown fields are ignored; unknown feature kinds refused."""
    if not isinstance(cfg, dict) or not all(
        k in cfg for k in ("feature_extractor", "backbone", "head")
    ):
        raise AudiotokError(f"{where}: not a Vocos config (feature_extractor, backbone, head)")
    fe = cfg["feature_extractor"]
    path = str(fe.get("class_path", "")) if isinstance(fe, dict) else ""
    head_path = str(cfg["head"].get("class_path", "")) if isinstance(cfg["head"], dict) else ""
    if not head_path.endswith("ISTFTHead"):
        raise AudiotokError(f"{where}: head {head_path!r} is not supported (ISTFTHead only)")
    if path.endswith("EncodecFeatures"):
        feats = {"kind": "encodec", **_args(fe, ("encodec_model", "bandwidths"), where)}
        if feats.get("encodec_model", "encodec_24khz") != "encodec_24khz":
            raise AudiotokError(f"{where}: only the EnCodec 24 kHz Vocos is supported")
        feats.setdefault("bandwidths", [1.5, 3.0, 6.0, 12.0])
    elif path.endswith("MelSpectrogramFeatures"):
        feats = {"kind": "mel", **_args(fe, _MEL_ARGS, where)}
    else:
        raise AudiotokError(f"{where}: feature extractor {path!r} is not supported")
    return {
        "features": feats,
        "backbone": _args(cfg["backbone"], _BACKBONE_ARGS, where),
        "head": _args(cfg["head"], _HEAD_ARGS, where),
    }


def architecture(parsed: dict[str, Any]) -> VocosModel:
    feats = parsed["features"]
    table = None
    if feats["kind"] == "encodec":
        n_q = round(max(feats["bandwidths"]) * 1000 / (ENCODEC_FRAME_RATE * 10))
        table = torch.zeros(n_q * ENCODEC_BINS, parsed["backbone"]["input_channels"])
    return VocosModel(Backbone(**parsed["backbone"]), ISTFTHead(**parsed["head"]), table)


def load_state(model: VocosModel, state: dict[str, torch.Tensor], where: str) -> None:
    """Load a Vocos checkpoint by its names. EnCodec's own weights (which the package adds
    from the encodec release) and the mel filters are not needed; a checkpoint without
    ``codebook_weights`` but with EnCodec's quantiser gets the table from its codebooks."""
    state = dict(state)
    key = "feature_extractor.codebook_weights"
    prefix = "feature_extractor.encodec.quantizer.vq.layers."
    table = model.codebook_table
    if table is not None and key not in state:
        n_q = table.shape[0] // ENCODEC_BINS
        books = [state.get(f"{prefix}{q}._codebook.embed") for q in range(n_q)]
        if all(b is not None for b in books):
            state[key] = torch.cat([b for b in books if b is not None])
    # EnCodec's own weights and the mel front end's buffers (window, filters): audiotok
    # computes the front end itself (``VocosDecoder.mel``)
    skip = ("feature_extractor.encodec.", "feature_extractor.mel_spec.")
    state = {k: v for k, v in state.items() if not k.startswith(skip)}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        lines = str(e).splitlines()
        raise AudiotokError(
            f"{where} does not fit its config ({lines[-1].strip()[:200]})"
        ) from None


class VocosDecoder:
    """A loaded Vocos. EnCodec kind: the codec interface of ``decode_rows`` (``decode_batch``,
    ``decode``); mel kind: ``mel`` and ``decode_mel``."""

    decode_window_frames = None  # convolutions + ISTFT: memory grows linearly, no windows

    def __init__(self, model: VocosModel, parsed: dict[str, Any], name: str, weights_path: str):
        self.model = model.eval()
        self.parsed = parsed
        self.name = name
        self.weights_path = weights_path
        self.kind = parsed["features"]["kind"]
        self.hop = int(parsed["head"]["hop_length"])
        self.sample_rate = (
            24000 if self.kind == "encodec" else int(parsed["features"].get("sample_rate", 24000))
        )
        self.device = "cpu"
        self.num_codebooks = 0  # set by for_store
        self._mel: Any = None

    def to(self, device: str) -> VocosDecoder:
        self.device = device
        self.model.to(device)
        return self

    # --- EnCodec codes ------------------------------------------------------------------
    def bandwidth_id(self, n_codebooks: int) -> int:
        kbps = [float(b) for b in self.parsed["features"]["bandwidths"]]
        ks = [round(b * 1000 / (ENCODEC_FRAME_RATE * 10)) for b in kbps]
        if n_codebooks not in ks:
            raise AudiotokError(
                f"{self.name} decodes EnCodec-24 kHz tokens of {', '.join(map(str, ks))} codebooks "
                f"({', '.join(f'{b:g}' for b in kbps)} kbps), not {n_codebooks}"
            )
        return ks.index(n_codebooks)

    def for_store(self, spec: Any) -> VocosDecoder:
        """Check a store's spec (EnCodec 24 kHz, a supported codebook count) and take its K."""
        if self.kind != "encodec":
            raise AudiotokError(f"{self.name} is a mel vocoder; it does not decode tokens")
        if spec.kind != "acoustic" or not str(spec.name).startswith("encodec-24khz"):
            raise AudiotokError(f"{self.name} decodes EnCodec-24 kHz tokens, not {spec.name}")
        self.bandwidth_id(spec.num_codebooks)
        self.num_codebooks = spec.num_codebooks
        return self

    @torch.inference_mode()
    def decode_batch(self, codes: torch.Tensor, lengths: torch.Tensor):
        """codes [B, K, T] -> (wav [B, 1, T * hop], lengths * hop); each row decoded alone,
        so padding never reaches a row's audio."""
        if self.kind != "encodec":
            raise AudiotokError(f"{self.name} is a mel vocoder; use decode_mel")
        cond = torch.tensor([self.bandwidth_id(codes.shape[1])], device=codes.device)
        out = torch.zeros(codes.shape[0], 1, codes.shape[-1] * self.hop, device=codes.device)
        for b in range(codes.shape[0]):
            n = int(lengths[b])
            if n == 0:
                continue
            feats = self.model.codes_to_features(codes[b : b + 1, :, :n], ENCODEC_BINS)
            out[b, 0, : n * self.hop] = self.model(feats, cond)[0]
        return out, lengths * self.hop

    def decode(self, codes: Any) -> torch.Tensor:
        c = torch.as_tensor(codes, dtype=torch.long)
        c = c[None] if c.dim() == 1 else c
        wav, n = self.decode_batch(c[None].to(self.device), torch.tensor([c.shape[-1]]))
        return wav[0, 0, : int(n[0])].cpu()

    # --- mel spectrograms ---------------------------------------------------------------
    def mel(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [..., T] at ``sample_rate`` -> log-mel [..., n_mels, frames] (Vocos's features)."""
        if self.kind != "mel":
            raise AudiotokError(f"{self.name} takes EnCodec codes, not mel spectrograms")
        args = self.parsed["features"]
        if self._mel is None:
            from audiotok.spectral import MelSpectrogram

            self._mel = MelSpectrogram(
                self.sample_rate,
                n_fft=int(args.get("n_fft", 1024)),
                hop_length=self.hop,
                n_mels=int(args.get("n_mels", 100)),
                power=1.0,
                center=args.get("padding", "center") == "center",
            ).to(self.device)
        x = wav.to(self.device)
        if args.get("padding", "center") == "same":
            pad = (self._mel.win_length - self.hop) // 2
            x = torch.nn.functional.pad(x, (pad, pad), mode="reflect")
        return self._mel(x).clamp_min(1e-7).log()

    @torch.inference_mode()
    def decode_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """log-mel [n_mels, frames] or [B, n_mels, frames] -> waveform [T] or [B, T]."""
        if self.kind != "mel":
            raise AudiotokError(f"{self.name} takes EnCodec codes, not mel spectrograms")
        n_mels = self.parsed["backbone"]["input_channels"]
        m = torch.as_tensor(mel, dtype=torch.float32)
        if m.dim() not in (2, 3) or m.shape[-2] != n_mels:
            raise AudiotokError(
                f"{self.name} takes a [{n_mels}, frames] log-mel, not {tuple(m.shape)}"
            )
        wav = self.model(m.reshape(-1, *m.shape[-2:]).to(self.device))
        return wav[0] if m.dim() == 2 else wav


def build(
    entry: Any,
    *,
    weights: str | None = None,
    device: str = "cpu",
) -> VocosDecoder:
    """A released Vocos: ``weights`` a folder with config.yaml + pytorch_model.bin (default:
    ``$AUDIOTOK_HOME/<name>/``)."""
    from audiotok import weights as W

    folder = Path(weights).expanduser() if weights else W.model_dir(entry)
    if folder.is_file():
        folder = folder.parent
    files = {f.filename: folder / f.filename for f in entry.files}
    for f in entry.files:
        if not files[f.filename].is_file():
            raise AudiotokError(
                W.missing_message(entry, f) if not weights else f"{folder} has no {f.filename}"
            )
    return load_folder(folder, entry.name).to(device)


def load_folder(folder: str | Path, name: str = "") -> VocosDecoder:
    try:
        import yaml
    except ModuleNotFoundError:
        raise AudiotokError(
            "reading a Vocos config.yaml needs PyYAML: pip install 'audiotok[vocos]'"
        ) from None

    from audiotok import weights as W

    folder = Path(folder)
    cfg_path, bin_path = folder / "config.yaml", folder / "pytorch_model.bin"
    for p in (cfg_path, bin_path):
        if not p.is_file():
            raise AudiotokError(f"{folder} is not a Vocos folder: it has no {p.name}")
    try:
        cfg = yaml.safe_load(cfg_path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise AudiotokError(f"cannot read {cfg_path}: {str(e).splitlines()[0]}") from None
    parsed = parse_config(cfg, str(cfg_path))
    from audiotok import rng

    with rng.seeded(0):  # the initialisers' draws, overwritten by the checkpoint
        model = architecture(parsed)
    load_state(model, W.load_state_dict(bin_path), str(bin_path))
    return VocosDecoder(model, parsed, name or folder.name, str(bin_path.resolve()))


def load_vocos(name_or_folder: str, device: str = "cpu") -> VocosDecoder:
    """``audiotok.load_vocos("vocos-mel-24khz")`` (a registry name) or a Vocos folder."""
    from audiotok import registry
    from audiotok.errors import UnknownModelError

    if Path(name_or_folder).expanduser().is_dir():
        return load_folder(Path(name_or_folder).expanduser()).to(device)
    try:
        entry = registry.get(name_or_folder)
    except UnknownModelError:
        raise AudiotokError(
            f"{name_or_folder!r} is neither a Vocos registry name nor a folder with config.yaml"
        ) from None
    if not entry.builder.startswith("audiotok.codecs.vocos:"):
        raise AudiotokError(f"{entry.name!r} is a {entry.kind} model, not a Vocos")
    return entry.build(device=device)
